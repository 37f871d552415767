//! The document's rules, checked on the whole document as `emporium openapi` prints it.

use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(&super::document_json()).expect("the document is JSON")
}

/// Every (path, method, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            all.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    all
}

fn schema_ref(name: &str) -> Value {
    Value::String(format!("#/components/schemas/{name}"))
}

#[test]
fn every_time_is_a_date_time() {
    let doc = document();
    let mut times = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            if crate::http::openapi::is_timestamp(field) {
                assert_eq!(property["format"], "date-time", "{name}.{field}");
                times += 1;
            }
        }
    }
    assert!(times >= 20, "only {times} times found");
}

#[test]
fn every_page_refers_to_its_items_schema() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let pages: Vec<_> = schemas.keys().filter(|k| k.starts_with("Page_")).collect();
    assert!(pages.len() >= 8);
    for page in pages {
        let item = page.trim_start_matches("Page_");
        let results = &schemas[page]["properties"]["results"];
        assert_eq!(results["items"]["$ref"], schema_ref(item), "{page}");
        for always in ["count", "next", "previous", "results"] {
            let required = schemas[page]["required"].as_array().expect("required");
            assert!(required.contains(&Value::from(always)), "{page}.{always}");
        }
    }
}

#[test]
fn errors_and_headers_follow_the_conventions() {
    let doc = document();
    for (path, method, operation) in operations(&doc) {
        if !path.starts_with("/api/") {
            continue;
        }
        let responses = operation["responses"].as_object().expect("responses");
        if let Some(unauthorized) = responses.get("401") {
            let schema = &unauthorized["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(*schema, schema_ref("AuthError"), "{method} {path}");
        }
        for status in ["429", "503"] {
            let response = responses.get(status).expect(status);
            assert!(
                response["headers"].get("Retry-After").is_some(),
                "{method} {path} {status}"
            );
        }
        let idempotent = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
        for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('2')) {
            let replayed = response["headers"].get("Idempotent-Replayed").is_some();
            assert_eq!(replayed, idempotent, "{method} {path} {status}");
        }
        for param in operation["parameters"].as_array().into_iter().flatten() {
            if param["name"] == "page" {
                assert_eq!(param["schema"]["minimum"], 1, "{method} {path}");
            }
        }
    }
    let order = &doc["paths"]["/api/orders/create/"]["post"]["responses"]["409"];
    let short = &order["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(*short, schema_ref("ShortOfStock"));
    let stock = &doc["paths"]["/api/products/{id}/stock/"]["post"]["responses"]["409"];
    let stale = &stock["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(*stale, schema_ref("StockConflict"));
}

#[test]
fn the_invoice_is_a_pdf_file() {
    let doc = document();
    let ok = &doc["paths"]["/api/orders/{id}/invoice/"]["get"]["responses"]["200"];
    let schema = &ok["content"]["application/pdf"]["schema"];
    assert_eq!(
        (&schema["type"], &schema["format"]),
        (&"string".into(), &"binary".into())
    );
}

#[test]
fn catalog_reads_take_an_optional_token() {
    let doc = document();
    let optional = serde_json::json!([{}, {"jwt": []}]);
    for (path, method, operation) in operations(&doc) {
        let public_read = method == "get"
            && (path.starts_with("/api/products/") || path.starts_with("/api/categories/"))
            && !path.contains("/stock/");
        if public_read {
            assert_eq!(operation["security"], optional, "{method} {path}");
        }
    }
}

#[test]
fn closed_sets_are_enums() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let orderings: Vec<&str> = schemas["ProductOrdering"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(orderings, crate::catalog::products::ORDERINGS);
    let list = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["schema"]["$ref"].clone())
    };
    assert_eq!(
        list("/api/admin/jobs/", "state"),
        Some(schema_ref("JobState"))
    );
    assert_eq!(
        list("/api/orders/", "status"),
        Some(schema_ref("OrderStatus"))
    );
    let remove = &doc["paths"]["/api/cart/remove/"]["delete"];
    assert!(
        remove["requestBody"]
            .get("required")
            .is_none_or(|r| r == false)
    );
}
