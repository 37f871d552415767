//! Invoices read as a person reads them: the PDF's text extracted with poppler's `pdftotext`
//! (Debian's `poppler-utils`, which `.ci/run` installs). Names and addresses in Devanagari,
//! Chinese and Arabic come back as the customer wrote them.

use std::process::Command;

use reqwest::Method;
use serde_json::json;

use crate::fixtures::{Basket, Placed, paid_order};
use crate::helpers::{Spawn, TestApp, spawn};

/// The text of `pdf` as `pdftotext` extracts it (UTF-8, reading order). Fails the test when
/// `pdftotext` is not installed: the invoice tests need it, as a service test needs its
/// service, and must not pass without reading the document.
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("invoice.pdf");
    std::fs::write(&path, pdf).expect("the PDF written");
    let output = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test reads the invoice with pdftotext ({e}): install poppler-utils \
                 (apt-get install poppler-utils; .ci/run does)"
            )
        });
    assert!(
        output.status.success(),
        "pdftotext could not read the invoice: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 text")
}

/// `token`'s invoice of order `id`.
pub async fn invoice_of(app: &TestApp, token: &str, id: &str) -> Vec<u8> {
    let response = app
        .request(
            Method::GET,
            &format!("/api/orders/{id}/invoice/"),
            Some(token),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("the PDF").to_vec()
}

#[tokio::test]
async fn an_invoice_prints_names_and_addresses_in_any_script_as_written() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let address = json!({"full_name": "अनन्या शर्मा", "line1": "شارع الملك فهد",
        "line2": "Flat 4 (B) \\ \u{202e}x", "city": "上海市", "state": "한국",
        "postal_code": "200000", "country": "CN"});
    let basket = Basket {
        address,
        ..Basket::boots(1)
    };
    let (Placed { token, id, .. }, _) = paid_order(&app, &staff, basket, &[]).await;
    let pdf = invoice_of(&app, &token, &id).await;
    assert!(pdf.starts_with(b"%PDF-") && pdf.ends_with(b"%%EOF\n"));
    let text = pdf_text(&pdf);
    for expected in [
        "अनन्या शर्मा",
        "شارع الملك فهد",
        "上海市",
        "200000",
        "Flat 4 (B) \\ x",
        "INVOICE",
        "Total: 10.00 USD",
        &format!("Order: {id}"),
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    // Hangul has no font: a placeholder box is drawn, and the text is still there.
    assert!(text.contains("上海市 한국 200000"), "{text}");
    // Three scripts' fonts embedded as subsets: tens of kilobytes, not megabytes.
    assert!(pdf.len() < 40_000, "{} bytes", pdf.len());
}
