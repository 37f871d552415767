//! A list's pages: 50 rows a page, links that keep the list's filters (a filtered page can be
//! bookmarked).

/// Rows on a page of a dashboard list.
pub const PAGE_SIZE: u64 = 50;

/// The deepest page a list goes to (10,000 rows in): a page is an `OFFSET`, whose cost grows
/// with its depth (page 1,000 of 100,000 orders took 60–100 ms on PostgreSQL). Past it, filter
/// (by date, status, search) or sort the other way.
pub const MAX_PAGE: u64 = 200;

/// Where a list is.
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub count: u64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// The page asked for: 1 when absent or not a number, at most [`MAX_PAGE`].
pub fn page_number(text: Option<&str>) -> u64 {
    text.and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE)
}

/// The offset of page `page`.
pub fn offset(page: u64) -> u64 {
    (page - 1) * PAGE_SIZE
}

impl Pager {
    /// Page `page` of `count` rows under `path`, its links carrying `filters` (empty values
    /// left out).
    pub fn new(path: &str, filters: &[(&str, &str)], page: u64, count: u64) -> Pager {
        let pages = count.div_ceil(PAGE_SIZE).clamp(1, MAX_PAGE);
        let link = |to: u64| {
            let mut pairs: Vec<(&str, String)> = filters
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (*k, (*v).to_owned()))
                .collect();
            if to > 1 {
                pairs.push(("page", to.to_string()));
            }
            let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            if query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{query}")
            }
        };
        Pager {
            page,
            pages,
            count,
            previous: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filters_and_leave_out_empty_ones() {
        let pager = Pager::new("/admin/orders/", &[("status", "PAID"), ("q", "")], 2, 120);
        assert_eq!(pager.pages, 3);
        assert_eq!(
            pager.previous.as_deref(),
            Some("/admin/orders/?status=PAID")
        );
        assert_eq!(
            pager.next.as_deref(),
            Some("/admin/orders/?status=PAID&page=3")
        );
        let last = Pager::new("/admin/orders/", &[], 3, 120);
        assert_eq!(last.next, None);
    }

    #[test]
    fn page_numbers_are_bounded() {
        assert_eq!(page_number(None), 1);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("x")), 1);
        assert_eq!(page_number(Some("999999999")), MAX_PAGE);
        assert_eq!(Pager::new("/x/", &[], 1, 1_000_000).pages, MAX_PAGE);
    }
}
