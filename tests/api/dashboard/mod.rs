//! The staff dashboard from outside, as a browser meets it: its cookies, forms and pages. The
//! security rules — staff only, CSRF on every change, sessions that end, everything a customer
//! wrote escaped — on every engine; the walk through its pages in a real browser is
//! `tests/browser/`.

mod actions;
mod catalog;
mod orders;
mod overview;
mod people;
mod sessions;
mod tallies;

use std::collections::HashMap;

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use crate::helpers::{PASSWORD, TestApp};

/// A browser's view of the dashboard: a cookie jar, and forms posted from the site's origin.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
}

/// An answer: status, headers, body.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the page's first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        self.value_after("name=\"csrf\" value=\"")
    }

    /// The page's first form key (of a form that creates something).
    pub fn form_key(&self) -> String {
        self.value_after("name=\"key\" value=\"")
    }

    /// The text from the first `marker` to the next `"`.
    pub fn value_after(&self, marker: &str) -> String {
        let start = self.body.find(marker).expect(marker) + marker.len();
        let end = self.body[start..].find('"').expect("end of value");
        self.body[start..start + end].to_owned()
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            cookies: HashMap::new(),
        }
    }

    /// The `Cookie` header the browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn keep(&mut self, response: reqwest::Response) -> Page {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().expect("cookie");
            let pair = text.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("sent");
        self.keep(response).await
    }

    /// Posts `fields` as a form from the dashboard's own origin (as a browser would).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.app.url("");
        self.post_from(path, fields, Some(&origin)).await
    }

    /// Posts `fields` with `Origin: origin` (none: no `Origin` header).
    pub async fn post_from(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let mut request = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).expect("form"));
        if let Some(origin) = origin {
            request = request.header("origin", origin.trim_end_matches('/'));
        }
        let response = request.send().await.expect("sent");
        self.keep(response).await
    }

    /// Signs in with `email` and `password` through the form: the answer to the post.
    pub async fn sign_in_as(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/admin/login/").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            "/admin/login/",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// The CSRF token of the signed-in session (from the overview's sign-out form).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/admin/").await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.csrf()
    }
}

/// A new staff member's email (password [`PASSWORD`]).
pub async fn new_staff(app: &TestApp) -> String {
    let email = format!("staff-{}@shop.example", uuid::Uuid::new_v4().simple());
    emporium::accounts::service::create_superuser(
        &app.state.db,
        &app.state.hash_gate,
        &email,
        PASSWORD,
    )
    .await
    .expect("staff account");
    email
}

/// A browser signed in as a new staff member, and their email.
pub async fn signed_in(app: &TestApp) -> (Browser<'_>, String) {
    let email = new_staff(app).await;
    let mut browser = Browser::new(app);
    let page = browser.sign_in_as(&email, PASSWORD).await;
    assert_eq!(
        (page.status, page.location()),
        (303, "/admin/"),
        "{}",
        page.body
    );
    (browser, email)
}
