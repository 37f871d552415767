//! Product search: relevance, stemming, a misspelt word, facets, suggestions, and an index that
//! follows every product write in its transaction. Each test runs on the engine the suite runs
//! on (SQLite by default; PostgreSQL and MariaDB in CI). Every engine does everything here: the
//! index is the application's own tables, not the engine's full-text search, so no engine has a
//! gap to state (see `src/catalog/search/mod.rs` for why).

use serde_json::{Value, json};

use crate::catalog::names;
use crate::fixtures::{new_category, new_product};
use crate::helpers::{Spawn, TestApp, TestDatabase, burst, count, spawn, spawn_app};

/// The ids of the test catalog's categories.
struct Shop {
    furniture: i64,
    chairs: i64,
    garden: i64,
}

/// Five products in three categories (Chairs is under Furniture).
async fn shop(app: &TestApp, staff: &str) -> Shop {
    let furniture = new_category(app, staff, "Furniture", None).await;
    let chairs = new_category(app, staff, "Chairs", Some(furniture)).await;
    let garden = new_category(app, staff, "Garden", None).await;
    for (name, description, price, stock, category) in [
        (
            "Oak Chair",
            "Solid wood, hand finished",
            "120.00",
            5,
            chairs,
        ),
        ("Oak Table", "Pairs with any chair", "300.00", 0, furniture),
        ("Chairs for Kids", "Bright colours", "45.00", 2, chairs),
        (
            "Garden Bench",
            "Sturdy enough for two; folding chairs sold separately",
            "80.00",
            1,
            garden,
        ),
        ("Lamp", "Warm light", "15.00", 3, furniture),
    ] {
        new_product(
            app,
            staff,
            json!({"name": name, "description": description, "price": price, "stock": stock, "category": category}),
        )
        .await;
    }
    Shop {
        furniture,
        chairs,
        garden,
    }
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn found(app: &TestApp, query: &str) -> Vec<String> {
    names(&get(app, &format!("/api/products/?{query}")).await)
}

#[tokio::test]
async fn results_come_by_relevance_unless_an_ordering_is_asked_for() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let shop = shop(&app, &staff).await;

    assert_eq!(
        found(&app, "search=chair").await,
        ["Oak Chair", "Chairs for Kids", "Oak Table", "Garden Bench"],
        "name above description; the exact word above its plural"
    );
    assert_eq!(
        found(&app, "search=oak+chair").await,
        ["Oak Chair", "Oak Table", "Chairs for Kids", "Garden Bench"],
        "both words above one"
    );
    assert_eq!(
        found(&app, "search=CHAIRS").await,
        ["Chairs for Kids", "Oak Chair", "Garden Bench", "Oak Table"],
        "any case; the plural typed finds the singular, below the exact plural"
    );
    assert_eq!(
        found(&app, "search=lamps+chiar").await,
        ["Lamp", "Oak Chair", "Oak Table"],
        "a stemmed match above a misspelt one"
    );

    // The other filters, orderings and pages keep working with a search.
    assert_eq!(
        found(&app, &format!("search=chair&category={}", shop.furniture)).await,
        ["Oak Chair", "Chairs for Kids", "Oak Table"],
        "a category includes its sub-categories"
    );
    assert_eq!(
        found(&app, "search=chair&in_stock=true").await,
        ["Oak Chair", "Chairs for Kids", "Garden Bench"]
    );
    assert_eq!(
        found(&app, "search=chair&min_price=50&max_price=200").await,
        ["Oak Chair", "Garden Bench"]
    );
    assert_eq!(
        found(&app, "search=chair&ordering=price").await,
        ["Chairs for Kids", "Garden Bench", "Oak Chair", "Oak Table"]
    );
    assert_eq!(
        found(&app, "search=chair&ordering=-name").await,
        ["Oak Table", "Oak Chair", "Garden Bench", "Chairs for Kids"]
    );
    let page = get(&app, "/api/products/?search=chair&page_size=2&page=2").await;
    assert_eq!(names(&page), ["Oak Table", "Garden Bench"]);
    assert_eq!(page["count"], 4);
    assert!(page["next"].is_null());
    let (status, _) = app
        .get("/api/products/?search=chair&page=3&page_size=2")
        .await;
    assert_eq!(status, 404, "a page past the end, as without search");
    assert_eq!(found(&app, "search=sofa").await, Vec::<String>::new());
    for query in ["search=oak+xy", "search=xy+oak", "search=chair+sofa"] {
        let page = get(&app, &format!("/api/products/?{query}")).await;
        assert!(
            page["count"].as_u64() > Some(0),
            "{query}: a word nobody has adds nothing"
        );
        let facets = get(&app, &format!("/api/products/facets/?{query}")).await;
        assert_eq!(facets["count"], page["count"], "{query}");
    }
    assert_eq!(
        found(&app, "search=chair+chair+CHAIR").await,
        found(&app, "search=chair").await,
        "a repeated word counts once"
    );
}

#[tokio::test]
async fn one_misspelt_word_still_finds_the_product() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    shop(&app, &staff).await;
    for typo in ["chiar", "chaiir", "chir", "cbair"] {
        assert_eq!(
            found(&app, &format!("search={typo}")).await,
            ["Oak Chair", "Oak Table"],
            "{typo}: one letter swapped, doubled, dropped or wrong"
        );
    }
    assert_eq!(
        found(&app, "search=benhc+garden").await,
        ["Garden Bench"],
        "one misspelt word among right ones"
    );
    assert_eq!(
        found(&app, "search=cahri").await,
        Vec::<String>::new(),
        "two edits away is another word"
    );
    assert_eq!(
        found(&app, "search=lmap").await,
        ["Lamp"],
        "a swap in a four-letter word"
    );

    // A word no product has any more is still in the vocabulary; it must not shadow the word
    // it misspells, nor match.
    let category = new_category(&app, &staff, "Misc", None).await;
    let typo = new_product(
        &app,
        &staff,
        json!({"name": "Chiar", "price": "1.00", "category": category}),
    )
    .await;
    assert_eq!(found(&app, "search=chiar").await[0], "Chiar");
    let path = format!("/api/products/{}/", typo["id"]);
    let (status, _) = app
        .patch(&path, Some(&staff), json!({"name": "Stool"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        found(&app, "search=chiar").await,
        ["Oak Chair", "Oak Table"],
        "the renamed product's old word is gone, so chiar is a misspelling again"
    );
}

#[tokio::test]
async fn stemming_follows_the_language_setting_and_a_change_rebuilds_the_index() {
    let plain = spawn(Spawn {
        settings: vec![("EMPORIUM_SEARCH_LANGUAGE", "none".to_owned())],
        ..Spawn::default()
    })
    .await;
    let staff = plain.staff_token().await;
    shop(&plain, &staff).await;
    assert_eq!(
        found(&plain, "search=chair").await,
        ["Oak Chair", "Oak Table"],
        "without stemming, chairs is another word"
    );
    let english = spawn(Spawn {
        database: Some(TestDatabase::shared(plain.db_url())),
        ..Spawn::default()
    })
    .await;
    assert_eq!(
        found(&english, "search=chair").await,
        ["Oak Chair", "Chairs for Kids", "Oak Table", "Garden Bench"],
        "starting in English rebuilt the stems"
    );
    let (status, body) = english.get("/api/products/?search=running").await;
    assert_eq!((status, body["count"].clone()), (200, json!(0)));
}

#[tokio::test]
async fn processes_starting_at_once_build_the_index_once_between_them() {
    use sea_orm::ConnectionTrait;
    let first = spawn_app().await;
    let staff = first.staff_token().await;
    shop(&first, &staff).await;
    // As a database from before search: no index, and its state forgotten.
    for statement in [
        "DELETE FROM search_postings",
        "DELETE FROM search_terms",
        "DELETE FROM search_index_state",
    ] {
        first
            .state
            .db
            .execute_unprepared(statement)
            .await
            .expect("cleared");
    }
    let node = || {
        spawn(Spawn {
            database: Some(TestDatabase::shared(first.db_url())),
            ..Spawn::default()
        })
    };
    let (a, b) = tokio::join!(node(), node());
    for app in [&a, &b] {
        assert_eq!(
            found(app, "search=chair").await,
            ["Oak Chair", "Chairs for Kids", "Oak Table", "Garden Bench"]
        );
    }
}

#[tokio::test]
async fn a_product_is_findable_once_created_and_gone_once_deactivated_or_deleted() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Rugs", None).await;
    let created = new_product(
        &app,
        &staff,
        json!({"name": "Zebra Rug", "description": "Striped", "price": "99.00", "stock": 1, "category": category}),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    assert_eq!(found(&app, "search=zebra").await, ["Zebra Rug"]);
    let suggested = get(&app, "/api/products/suggest/?q=zeb").await;
    assert_eq!(suggested["products"][0]["name"], "Zebra Rug");

    let path = format!("/api/products/{id}/");
    let (status, _) = app
        .patch(&path, Some(&staff), json!({"is_active": false}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(found(&app, "search=zebra").await, Vec::<String>::new());
    assert_eq!(
        get(&app, "/api/products/suggest/?q=zeb").await["products"],
        json!([])
    );
    assert_eq!(
        get(&app, "/api/products/facets/?search=zebra").await["count"],
        0
    );
    let (_, page) = app
        .get_as("/api/products/?search=zebra", Some(&staff))
        .await;
    assert_eq!(names(&page), ["Zebra Rug"], "staff still find it");

    let (status, _) = app
        .patch(
            &path,
            Some(&staff),
            json!({"is_active": true, "name": "Tiger Rug", "description": "Orange"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(found(&app, "search=zebra").await, Vec::<String>::new());
    assert_eq!(found(&app, "search=striped").await, Vec::<String>::new());
    assert_eq!(found(&app, "search=tiger+orange").await, ["Tiger Rug"]);

    let (status, _) = app.delete(&path, Some(&staff)).await;
    assert_eq!(status, 204);
    assert_eq!(found(&app, "search=tiger").await, Vec::<String>::new());
}

#[tokio::test]
async fn products_created_in_parallel_with_the_same_words_are_all_indexed() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Tools", None).await;
    let client = app.client.clone();
    let url = app.url("/api/products/");
    let answers = burst(16, |n| {
        // The same new words in different orders: each transaction adds them to the
        // vocabulary while the others do.
        let mut words = ["hammer", "anvil", "tongs", "bellows", "quench"];
        words.rotate_left(n % 5);
        client.post(&url).bearer_auth(&staff).json(&json!({
            "name": format!("Smithy kit {n}"),
            "description": words.join(" "),
            "price": "10.00",
            "category": category,
        }))
    })
    .await;
    assert_eq!(count(&answers, 201), 16, "{answers:?}");
    for word in ["smithy", "anvil", "quench"] {
        let page = get(&app, &format!("/api/products/?search={word}&page_size=50")).await;
        assert_eq!(page["count"], 16, "{word}");
    }

    // Every one rewritten while more are created: words leave and come row by row.
    let ids: Vec<i64> = answers
        .iter()
        .map(|a| a.body["id"].as_i64().expect("id"))
        .collect();
    let answers = burst(24, |n| match ids.get(n) {
        Some(id) => client
            .patch(app.url(&format!("/api/products/{id}/")))
            .bearer_auth(&staff)
            .json(&json!({"description": format!("forge bellows rivet{n}")})),
        None => client.post(&url).bearer_auth(&staff).json(&json!({
            "name": format!("Forge kit {n}"),
            "description": "hammer rivet",
            "price": "10.00",
            "category": category,
        })),
    })
    .await;
    assert_eq!(count(&answers, 200), 16, "{answers:?}");
    assert_eq!(count(&answers, 201), 8, "{answers:?}");
    // Deletes racing rewrites of the same products take their locks in one order.
    let answers = burst(16, |n| {
        let id = ids[n / 2];
        let path = app.url(&format!("/api/products/{id}/"));
        if n % 2 == 0 {
            client.delete(&path).bearer_auth(&staff)
        } else {
            client
                .patch(&path)
                .bearer_auth(&staff)
                .json(&json!({"is_active": false, "description": "retired"}))
        }
    })
    .await;
    assert!(
        answers.iter().all(|a| [200, 204, 404].contains(&a.status)),
        "{answers:?}"
    );
    assert_eq!(count(&answers, 204), 8, "{answers:?}");
    for (word, expected) in [
        ("forge", 16),
        ("bellows", 8),
        ("anvil", 0),
        ("hammer", 8),
        ("smithy", 8),
        ("retired", 0),
    ] {
        let page = get(&app, &format!("/api/products/?search={word}&page_size=50")).await;
        assert_eq!(page["count"], expected, "{word}");
    }
}

#[tokio::test]
async fn facets_count_the_result_set() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let shop = shop(&app, &staff).await;
    let range = |min: &str, max: Option<&str>| json!({"min": min, "max": max, "count": 1});

    let all = get(&app, "/api/products/facets/").await;
    assert_eq!(
        all,
        json!({
            "categories": [
                {"id": shop.furniture, "name": "Furniture", "count": 4},
                {"id": shop.chairs, "name": "Chairs", "count": 2},
                {"id": shop.garden, "name": "Garden", "count": 1},
            ],
            "price_ranges": [
                range("10.00", Some("25.00")),
                range("25.00", Some("50.00")),
                range("50.00", Some("100.00")),
                range("100.00", Some("250.00")),
                range("250.00", Some("500.00")),
            ],
            "in_stock": 4,
            "count": 5,
            "options": [],
        })
    );

    let searched = get(&app, "/api/products/facets/?search=chair").await;
    assert_eq!(searched["count"], 4);
    assert_eq!(searched["in_stock"], 3);
    assert_eq!(
        searched["categories"],
        json!([
            {"id": shop.furniture, "name": "Furniture", "count": 3},
            {"id": shop.chairs, "name": "Chairs", "count": 2},
            {"id": shop.garden, "name": "Garden", "count": 1},
        ])
    );
    assert_eq!(searched["price_ranges"].as_array().map(Vec::len), Some(4));

    let narrow = get(
        &app,
        &format!(
            "/api/products/facets/?category={}&min_price=50",
            shop.chairs
        ),
    )
    .await;
    assert_eq!(
        narrow,
        json!({
            "categories": [
                {"id": shop.chairs, "name": "Chairs", "count": 1},
                {"id": shop.furniture, "name": "Furniture", "count": 1},
            ],
            "price_ranges": [range("100.00", Some("250.00"))],
            "in_stock": 1,
            "count": 1,
            "options": [],
        })
    );
    let none = get(&app, "/api/products/facets/?search=sofa").await;
    assert_eq!(
        none,
        json!({"categories": [], "price_ranges": [], "in_stock": 0, "count": 0, "options": []})
    );

    // Cached like the list, and a change to what it counts shows at once.
    let response = app.get_response("/api/products/facets/").await;
    assert_eq!(response.headers()["x-cache"], "hit");
    let (status, _) = app
        .post(
            "/api/products/",
            Some(&staff),
            json!({"name": "Parasol", "price": "1000.00", "stock": 0, "category": shop.garden}),
        )
        .await;
    assert_eq!(status, 201);
    let after = get(&app, "/api/products/facets/").await;
    assert_eq!(after["count"], 6);
    assert_eq!(
        after["price_ranges"][5],
        json!({"min": "1000.00", "max": "2500.00", "count": 1})
    );

    let (status, body) = app.get("/api/products/facets/?min_price=x").await;
    assert_eq!(status, 400);
    assert!(body["min_price"].is_array(), "{body}");
}

#[tokio::test]
async fn suggestions_complete_the_last_word_typed() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let shop = shop(&app, &staff).await;
    let named = |page: &Value, part: &str| -> Vec<String> {
        page[part]
            .as_array()
            .expect(part)
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect()
    };

    let ch = get(&app, "/api/products/suggest/?q=ch").await;
    assert_eq!(named(&ch, "products"), ["Oak Chair", "Chairs for Kids"]);
    assert_eq!(
        ch["categories"],
        json!([{"id": shop.chairs, "name": "Chairs", "slug": "chairs"}])
    );
    assert!(ch["products"][0]["slug"].as_str().is_some());
    let oak_ch = get(&app, "/api/products/suggest/?q=Oak%20ch").await;
    assert_eq!(named(&oak_ch, "products"), ["Oak Chair"]);
    let ga = get(&app, "/api/products/suggest/?q=ga").await;
    assert_eq!(named(&ga, "products"), ["Garden Bench"]);
    assert_eq!(named(&ga, "categories"), ["Garden"]);
    assert_eq!(
        get(&app, "/api/products/suggest/?q=").await,
        json!({"products": [], "categories": []})
    );
    assert_eq!(
        get(&app, "/api/products/suggest/?q=sturdy").await["products"],
        json!([]),
        "only names are suggested"
    );

    // At most ten.
    for n in 0..12 {
        new_product(
            &app,
            &staff,
            json!({"name": format!("Chest {n}"), "price": "5.00", "category": shop.furniture}),
        )
        .await;
    }
    let many = get(&app, "/api/products/suggest/?q=c").await;
    assert_eq!(many["products"].as_array().map(Vec::len), Some(10));

    let long = "a".repeat(201);
    let (status, body) = app.get(&format!("/api/products/suggest/?q={long}")).await;
    assert_eq!(status, 400);
    assert!(body["q"].is_array(), "{body}");
    let (status, body) = app.get("/api/products/suggest/?q=a%00b").await;
    assert_eq!(status, 400, "{body}");
}
