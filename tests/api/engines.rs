//! The same guarantees on every engine: pagination that never fails, read-then-write rules that
//! hold under parallel requests on PostgreSQL and MariaDB as on SQLite, text limits that agree,
//! and migrations that can run again after failing half-way.

use emporium::accounts::address;
use emporium::auth::user;
use emporium::catalog::category;
use reqwest::Method;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::fixtures::category_of;
use crate::helpers::{PASSWORD, TestApp, burst, count, spawn_app};

// 1. Pagination never fails.

#[tokio::test]
async fn no_page_number_or_size_is_a_server_error_on_any_list() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let lists: [(&str, Option<&str>); 6] = [
        ("/api/products/", None),
        (
            "/api/products/?search=shoe&ordering=-price&in_stock=true",
            None,
        ),
        ("/api/products/", Some(staff.as_str())),
        ("/api/categories/", None),
        ("/api/auth/addresses/", Some(customer.as_str())),
        ("/api/admin/jobs/", Some(staff.as_str())),
    ];
    for (path, token) in lists {
        let sep = if path.contains('?') { '&' } else { '?' };
        for page in [
            "9223372036854775808",
            "9223372036854775807",
            "4611686018427387904",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999",
            "0",
            "-1",
            "2",
            "abc",
            "1.5",
        ] {
            let (status, body) = app.get_as(&format!("{path}{sep}page={page}"), token).await;
            assert_eq!(
                (status, body),
                (404, json!({"detail": "Invalid page."})),
                "{path} page={page}"
            );
        }
        for size in ["abc", "-5", "0", "1e3", "99999999999999999999", ""] {
            let (status, body) = app
                .get_as(&format!("{path}{sep}page_size={size}"), token)
                .await;
            assert_eq!(status, 200, "{path} page_size={size}: {body}");
            assert!(body["results"].is_array());
        }
        let (status, _) = app
            .get_as(
                &format!("{path}{sep}page=1&page_size=9223372036854775807"),
                token,
            )
            .await;
        assert_eq!(status, 200, "{path}: a huge page size is clamped");
    }
}

// 2. Rules that read then write hold on every engine.

#[tokio::test]
async fn two_first_addresses_posted_at_once_leave_exactly_one_default() {
    let app = spawn_app().await;
    for round in 0..4 {
        let token = app.customer_token().await;
        let answers = burst(6, |n| {
            app.request(Method::POST, "/api/auth/addresses/", Some(&token))
                .json(
                    &json!({"full_name": format!("Ada {round}-{n}"), "line1": "1 Main St",
                    "city": "Springfield", "postal_code": "12345", "country": "US"}),
                )
        })
        .await;
        assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
        let (_, me) = app.get_as("/api/auth/me/", Some(&token)).await;
        let user_id = me["id"].as_i64().expect("id");
        let defaults = address::Entity::find()
            .filter(address::Column::UserId.eq(user_id))
            .filter(address::Column::IsDefault.eq(true))
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(defaults, 1, "round {round}");
    }
}

#[tokio::test]
async fn two_new_defaults_at_once_leave_exactly_one() {
    let app = spawn_app().await;
    let token = app.customer_token().await;
    let body = |name: &str, default: bool| {
        json!({"full_name": name, "line1": "1 Main St", "city": "Springfield",
            "postal_code": "12345", "country": "US", "is_default": default})
    };
    app.post("/api/auth/addresses/", Some(&token), body("first", false))
        .await;
    let answers = burst(6, |n| {
        app.request(Method::POST, "/api/auth/addresses/", Some(&token))
            .json(&body(&format!("default {n}"), true))
    })
    .await;
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    let defaults = address::Entity::find()
        .filter(address::Column::IsDefault.eq(true))
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(defaults, 1);
}

/// True when following parents from any category comes back to it.
async fn has_cycle(app: &TestApp) -> bool {
    let rows = category::Entity::find()
        .all(&app.state.db)
        .await
        .expect("categories");
    let parent_of = |id: i64| rows.iter().find(|c| c.id == id).and_then(|c| c.parent_id);
    rows.iter().any(|start| {
        let mut at = start.parent_id;
        for _ in 0..=rows.len() {
            match at {
                Some(id) if id == start.id => return true,
                Some(id) => at = parent_of(id),
                None => return false,
            }
        }
        true
    })
}

#[tokio::test]
async fn parallel_re_parentings_that_would_close_a_loop_never_store_one() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    for round in 0..6 {
        let a = category_of(&app, &staff, json!({"name": format!("A{round}")})).await;
        let b = category_of(&app, &staff, json!({"name": format!("B{round}")})).await;
        let c = category_of(&app, &staff, json!({"name": format!("C{round}")})).await;
        // A → B, B → C and C → A at once: any two are fine, all three make a loop.
        let moves = [(a, b), (b, c), (c, a)];
        let answers = burst(3, |n| {
            let (child, parent) = moves[n];
            app.request(
                Method::PATCH,
                &format!("/api/categories/{child}/"),
                Some(&staff),
            )
            .json(&json!({"parent": parent}))
        })
        .await;
        let ok = count(&answers, 200);
        let refused: Vec<_> = answers.iter().filter(|a| a.status == 400).collect();
        assert_eq!((ok, refused.len()), (2, 1), "round {round}: {answers:?}");
        assert!(refused[0].body["parent"].is_array(), "{answers:?}");
        assert!(!has_cycle(&app).await, "round {round}: a cycle was stored");
    }
}

#[tokio::test]
async fn products_created_at_once_with_one_name_all_get_their_own_slug() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = category_of(&app, &staff, json!({"name": "Shoes"})).await;
    let answers = burst(8, |_| {
        app.request(Method::POST, "/api/products/", Some(&staff))
            .json(&json!({"name": "Trail Runner", "price": "89.00", "stock": 3, "category": category}))
    })
    .await;
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    let mut slugs: Vec<&str> = answers
        .iter()
        .map(|a| a.body["slug"].as_str().expect("slug"))
        .collect();
    assert!(
        slugs.iter().all(|s| s.starts_with("trail-runner")),
        "{slugs:?}"
    );
    slugs.sort_unstable();
    slugs.dedup();
    assert_eq!(slugs.len(), 8);
}

#[tokio::test]
async fn categories_created_at_once_with_one_name_all_get_their_own_slug() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let answers = burst(6, |_| {
        app.request(Method::POST, "/api/categories/", Some(&staff))
            .json(&json!({"name": "Outdoor"}))
    })
    .await;
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    let mut slugs: Vec<&str> = answers
        .iter()
        .map(|a| a.body["slug"].as_str().expect("slug"))
        .collect();
    slugs.sort_unstable();
    slugs.dedup();
    assert_eq!(slugs.len(), 6);
    let (status, body) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "Other", "slug": "outdoor"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"slug": ["category with this slug already exists."]})
        ),
        "a slug the client chose is theirs to fix"
    );
}

#[tokio::test]
async fn the_same_email_registered_at_once_makes_one_account() {
    let app = spawn_app().await;
    let answers = burst(6, |_| {
        app.request(Method::POST, "/api/auth/register/", None)
            .json(&json!({"email": "twin@example.com", "password": PASSWORD}))
    })
    .await;
    let created = count(&answers, 201);
    assert_eq!(created, 1, "{answers:?}");
    for answer in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(
            (answer.status, &answer.body),
            (
                400,
                &json!({"email": ["A user with that email already exists."]})
            )
        );
    }
    let stored = user::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(stored, 1);
}

// 3. Text limits agree across engines.

#[tokio::test]
async fn a_description_of_20000_four_byte_characters_is_kept_intact() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = category_of(&app, &staff, json!({"name": "Emoji"})).await;
    let description = "😀".repeat(20_000);
    let (status, body) = app
        .post(
            "/api/products/",
            Some(&staff),
            json!({"name": "Smile", "price": "1.00", "category": category,
                "description": description}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    let (status, read) = app
        .get_as(&format!("/api/products/{id}/"), Some(&staff))
        .await;
    assert_eq!(status, 200);
    assert_eq!(read["description"].as_str(), Some(description.as_str()));

    let longer = "😀".repeat(20_001);
    let (status, body) = app
        .patch(
            &format!("/api/products/{id}/"),
            Some(&staff),
            json!({"description": longer}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["description"].is_array());

    let (status, body) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "Wide", "description": "𝄞".repeat(10_000)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["description"].as_str().map(|d| d.chars().count()),
        Some(10_000)
    );
}

#[tokio::test]
async fn names_and_addresses_at_their_limit_in_four_byte_characters_are_kept() {
    let app = spawn_app().await;
    let token = app.customer_token().await;
    let wide = |n: usize| "𝄞".repeat(n);
    let (status, body) = app
        .post(
            "/api/auth/addresses/",
            Some(&token),
            json!({"full_name": wide(150), "line1": wide(255), "line2": wide(255),
                "city": wide(100), "state": wide(100), "postal_code": "12345", "country": "US"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["line1"].as_str().map(|d| d.chars().count()), Some(255));
    let (status, body) = app
        .patch(
            "/api/auth/me/",
            Some(&token),
            json!({"first_name": wide(150), "last_name": wide(150)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["first_name"].as_str().map(|d| d.chars().count()),
        Some(150)
    );
}

/// Deletes the record of migration `name`, as a run that failed before recording it leaves it.
async fn forget_migration(db: &sea_orm::DatabaseConnection, name: &str) {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "DELETE FROM emporium_migrations WHERE version = $1",
        _ => "DELETE FROM emporium_migrations WHERE version = ?",
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [name.into()],
    ))
    .await
    .expect("forget");
}

#[tokio::test]
async fn every_migration_can_run_again_after_failing_half_way() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let names: Vec<String> = db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT version FROM emporium_migrations ORDER BY version",
        ))
        .await
        .expect("migrations")
        .iter()
        .map(|row| row.try_get::<String>("", "version").expect("version"))
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    // A migration that failed half-way left some of its objects and no record: forget each
    // record (newest first) and run the migrator again over what is there.
    for name in names.iter().rev() {
        forget_migration(db, name).await;
        emporium::db::migrate(db)
            .await
            .unwrap_or_else(|e| panic!("{name} could not run again: {e}"));
    }
    // Half-way for real: a migration's table gone, its column still there (the hardening
    // migration's lock table and the inventory migration's movements — which the variants
    // migration adds a column to, so it runs again too).
    for table in ["emporium_locks", "stock_movements"] {
        db.execute_raw(sea_orm::Statement::from_string(
            backend,
            format!("DROP TABLE {table}"),
        ))
        .await
        .expect("drop");
    }
    for name in names
        .iter()
        .filter(|n| n.contains("_hardening") || n.contains("_inventory") || n.contains("_variants"))
    {
        forget_migration(db, name).await;
    }
    emporium::db::migrate(db).await.expect("runs again");
    assert_eq!(app.get("/api/products/").await.0, 200);
    let staff = app.staff_token().await;
    let category = crate::fixtures::new_category(&app, &staff, "Boots", None).await;
    let (status, product) = app
        .post(
            "/api/products/",
            Some(&staff),
            json!({"name": "Boot", "price": "1.00", "category": category, "stock": 2}),
        )
        .await;
    assert_eq!(status, 201, "{product}");
    let (status, _) = app
        .post(
            &format!("/api/products/{}/stock/", product["id"]),
            Some(&staff),
            json!({"delta": 1}),
        )
        .await;
    assert_eq!(status, 200, "the movements table is back");
    let (status, _) = app
        .post(
            "/api/auth/addresses/",
            Some(&app.customer_token().await),
            json!({"full_name": "Ada", "line1": "1 Main St", "city": "Springfield",
                "postal_code": "12345", "country": "US"}),
        )
        .await;
    assert_eq!(status, 201, "the lock table is back");
}

#[tokio::test]
async fn a_null_character_in_text_is_a_400_on_every_engine() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (status, body) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "Nul\u{0}Name"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"name": ["Null characters and control characters are not allowed."]})
        )
    );
    let (status, body) = app.get("/api/products/?search=a%00b").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["search"].is_array());
    let (status, _) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "Two\nLines\tand a tab", "description": "line one\r\nline two"}),
        )
        .await;
    assert_eq!(status, 201, "tabs and line breaks are text");
}
