//! The one paginator: `?page=&page_size=` in, `{count, next, previous, results}` out, with
//! absolute links that keep every other query parameter.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use utoipa::ToSchema;

use super::context::RequestContext;
use super::error::{ApiError, ApiResult};

/// Items per page when the client does not say.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest page a client can ask for; larger requests are clamped to it.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The page a client asked for, and what is needed to link to its neighbours.
#[derive(Debug, Clone)]
pub struct Pagination {
    /// 1-based page number.
    pub page: u64,
    /// Items per page, already clamped.
    pub page_size: u64,
    /// Absolute URL of the request without its query string.
    url: String,
    /// The request's query parameters, in order.
    query: Vec<(String, String)>,
}

/// The value of query parameter `name`, trimmed: the last one when it is repeated (as Django's
/// `QueryDict` answers).
pub fn query_param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
}

fn invalid_page() -> ApiError {
    ApiError::NotFound("Invalid page.".to_owned())
}

impl Pagination {
    /// Reads `page` and `page_size` from a query (pairs in order) for the given absolute URL.
    /// An unreadable `page` is a 404 as in DRF; an unreadable `page_size` means the default.
    pub fn from_query(url: String, query: Vec<(String, String)>) -> ApiResult<Pagination> {
        let param = |name: &str| query_param(&query, name);
        let page = match param("page") {
            None | Some("") => 1,
            Some(text) => match text.parse::<u64>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(invalid_page()),
            },
        };
        let page_size = match param("page_size").map(str::parse::<u64>) {
            Some(Ok(n)) if n >= 1 => n.min(MAX_PAGE_SIZE),
            _ => DEFAULT_PAGE_SIZE,
        };
        // A page whose first row lies beyond what SQL's OFFSET can hold (a signed 64-bit number
        // on every engine) is past the end of any list: refuse it here, before any query.
        let offset = (page - 1).checked_mul(page_size);
        if offset.is_none_or(|offset| i64::try_from(offset).is_err()) {
            return Err(invalid_page());
        }
        Ok(Pagination {
            page,
            page_size,
            url,
            query,
        })
    }

    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// Rows to fetch.
    pub fn limit(&self) -> u64 {
        self.page_size
    }

    /// The same page, with links that carry `query` — the parameters the endpoint knows, in a
    /// fixed order and normal form — instead of the request's own. Two requests that ask for
    /// the same thing then get the same body, so a cache can key on [`Pagination::cache_key`].
    #[must_use]
    pub fn normalized(mut self, mut query: Vec<(String, String)>) -> Pagination {
        if self.page_size != DEFAULT_PAGE_SIZE {
            query.push(("page_size".to_owned(), self.page_size.to_string()));
        }
        self.query = query;
        self
    }

    /// What identifies this page's body (after [`Pagination::normalized`]): the URL, each
    /// parameter and the page, apart by the unit separator (U+001F) — a control character, which
    /// no parameter that reaches here can hold.
    pub fn cache_key(&self, kind: &str) -> String {
        let mut key = String::with_capacity(128);
        key.push_str(kind);
        key.push('\u{1f}');
        key.push_str(&self.url);
        for (name, value) in &self.query {
            key.push('\u{1f}');
            key.push_str(name);
            key.push('=');
            key.push_str(value);
        }
        key.push_str("\u{1f}page=");
        key.push_str(&self.page.to_string());
        key
    }

    fn link(&self, page: Option<u64>) -> String {
        let mut pairs: Vec<(&str, String)> = self
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        if let Some(page) = page {
            pairs.push(("page", page.to_string()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            self.url.clone()
        } else {
            format!("{}?{query}", self.url)
        }
    }

    /// Wraps one page of `results` out of `count`; a page past the end is 404 `Invalid page.`
    /// (page 1 of an empty list is a valid, empty page).
    pub fn page<T>(&self, count: u64, results: Vec<T>) -> ApiResult<Page<T>> {
        if self.page > 1 && self.offset() >= count {
            return Err(invalid_page());
        }
        let last_page = count.div_ceil(self.page_size).max(1);
        let next = (self.page < last_page).then(|| self.link(Some(self.page + 1)));
        let previous = (self.page > 1).then(|| {
            // DRF drops `page` altogether for the first page.
            self.link((self.page > 2).then_some(self.page - 1))
        });
        Ok(Page {
            count,
            next,
            previous,
            results,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let context = RequestContext::from_request_parts(parts, state).await?;
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
                .map_err(|_| super::error::bad_request("The query string is malformed."))?;
        let url = format!("{}{}", context.base_url, parts.uri.path());
        Pagination::from_query(url, query)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// How many items the whole list has.
    pub count: u64,
    /// Absolute URL of the next page, or null on the last.
    pub next: Option<String>,
    /// Absolute URL of the previous page, or null on the first.
    pub previous: Option<String>,
    /// This page's items.
    pub results: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pagination(query: &str) -> ApiResult<Pagination> {
        let pairs = serde_urlencoded::from_str(query).expect("query");
        Pagination::from_query("http://shop.example/api/products/".to_owned(), pairs)
    }

    #[test]
    fn page_size_defaults_and_clamps() {
        assert_eq!(pagination("").expect("valid").page_size, 20);
        assert_eq!(pagination("page_size=500").expect("valid").page_size, 100);
        assert_eq!(pagination("page_size=0").expect("valid").page_size, 20);
        assert_eq!(pagination("page_size=x").expect("valid").page_size, 20);
        assert_eq!(pagination("page_size=7").expect("valid").page_size, 7);
    }

    #[test]
    fn an_unreadable_page_is_not_found() {
        for bad in ["page=0", "page=-1", "page=two", "page=1.5"] {
            assert!(
                matches!(pagination(bad), Err(ApiError::NotFound(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn links_keep_the_other_parameters() {
        let p = pagination("search=red+shoe&page=2&page_size=10").expect("valid");
        let page = p.page(35, vec![(); 10]).expect("in range");
        assert_eq!(
            page.next.as_deref(),
            Some("http://shop.example/api/products/?search=red+shoe&page_size=10&page=3")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("http://shop.example/api/products/?search=red+shoe&page_size=10")
        );
    }

    #[test]
    fn the_last_page_has_no_next_and_past_it_is_not_found() {
        let p = pagination("page=4&page_size=10").expect("valid");
        let page = p.page(35, vec![(); 5]).expect("in range");
        assert_eq!(page.next, None);
        assert!(page.previous.is_some());
        let past = pagination("page=5&page_size=10").expect("valid");
        assert!(matches!(
            past.page(35, Vec::<()>::new()),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn the_first_page_of_nothing_is_an_empty_page() {
        let page = pagination("")
            .expect("valid")
            .page(0, Vec::<()>::new())
            .expect("valid");
        assert_eq!((page.count, page.next, page.previous), (0, None, None));
    }
}
