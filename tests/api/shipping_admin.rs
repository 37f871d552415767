//! Staff endpoints of shipping and tax over HTTP: zones and the places they cover (a country in
//! one whole-country zone, a region in one zone, the unique index deciding — under parallel
//! requests too), methods flat or by weight, tax rates one per country, region and class; each
//! rule's field error with nothing stored, staff only, 404s and idempotent creation.

use emporium::shipping::{method, zone, zone_area};
use emporium::tax::rate;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{TestApp, burst, count, spawn_app};

const ZONES: &str = "/api/shipping/zones/";
const METHODS: &str = "/api/shipping/methods/";
const RATES: &str = "/api/tax/rates/";

async fn created(app: &TestApp, staff: &str, path: &str, body: Value) -> Value {
    let (status, answer) = app.post(path, Some(staff), body.clone()).await;
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

fn id(view: &Value) -> i64 {
    view["id"].as_i64().expect("id")
}

/// Every stored place: (zone id, country, region, region key), in the order written.
async fn places(app: &TestApp) -> Vec<(i64, String, String, String)> {
    zone_area::Entity::find()
        .order_by_asc(zone_area::Column::Id)
        .all(&app.state.db)
        .await
        .expect("places")
        .into_iter()
        .map(|a| (a.zone_id, a.country, a.region, a.region_key))
        .collect()
}

fn place(zone: i64, country: &str, region: &str, key: &str) -> (i64, String, String, String) {
    (zone, country.into(), region.into(), key.into())
}

async fn rows<E>(app: &TestApp) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().count(&app.state.db).await.expect("count")
}

/// POSTs `body` with an `Idempotency-Key`: (status, replayed?, body).
async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> (u16, bool, Value) {
    let response = app
        .request(Method::POST, path, Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, replayed, response.json().await.expect("json"))
}

/// Each `(body, field, message)` is a 400 with `message` among `field`'s (any message when
/// `message` is empty) — `field` may be `outer.inner` for a nested error.
async fn refused_each(
    app: &TestApp,
    staff: &str,
    method: Method,
    path: &str,
    cases: &[(Value, &str, &str)],
) {
    for (body, field, message) in cases {
        let (status, answer) = app
            .call(method.clone(), path, Some(staff), Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        let messages = match field.split_once('.') {
            Some((outer, inner)) => &answer[outer][inner],
            None => &answer[*field],
        };
        assert!(messages.is_array(), "{body}: {field} in {answer}");
        if !message.is_empty() {
            assert!(
                messages
                    .as_array()
                    .is_some_and(|m| m.contains(&json!(message))),
                "{body}: expected {field}: {message:?}, got {answer}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Zones

#[tokio::test]
async fn staff_manage_zones_whose_countries_and_regions_are_stored_one_place_a_row() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let body = json!({"name": " North America ", "countries": ["us", "CA", "US"],
        "regions": {"us": ["AK", " HI ", "ak"]}, "id": 99});
    let (status, _) = app.post(ZONES, Some(&customer), body.clone()).await;
    assert_eq!(status, 403);
    let (status, _) = app.post(ZONES, None, body.clone()).await;
    assert_eq!(status, 401);

    let zone = created(&app, &staff, ZONES, body).await;
    let zid = id(&zone);
    assert_ne!(zid, 99, "a client cannot choose the id");
    assert_eq!(zone["name"], "North America");
    assert_eq!(zone["countries"], json!(["US", "CA"]));
    assert_eq!(zone["regions"], json!({"US": ["AK", "HI"]}));
    assert!(zone["created_at"].is_string() && zone["updated_at"].is_string());
    // All of CA, and only AK and HI of the US.
    assert_eq!(
        places(&app).await,
        [
            place(zid, "US", "AK", "ak"),
            place(zid, "US", "HI", "hi"),
            place(zid, "CA", "", ""),
        ]
    );

    let (status, page) = app.get_as(ZONES, Some(&staff)).await;
    assert_eq!((status, &page["count"]), (200, &json!(1)));
    assert_eq!(page["results"][0], zone);
    let path = format!("{ZONES}{zid}/");
    let (status, one) = app.get_as(&path, Some(&staff)).await;
    assert_eq!((status, &one), (200, &zone));

    // A new name keeps the places.
    let (status, renamed) = app.patch(&path, Some(&staff), json!({"name": "NA"})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        (&renamed["name"], &renamed["countries"], &renamed["regions"]),
        (&json!("NA"), &zone["countries"], &zone["regions"])
    );
    // `regions` alone narrows the zone's current countries: now all of the US, part of CA.
    let (status, changed) = app
        .patch(&path, Some(&staff), json!({"regions": {"CA": ["QC"]}}))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["countries"], json!(["US", "CA"]));
    assert_eq!(changed["regions"], json!({"CA": ["QC"]}));
    // `countries` alone keeps the regions of the countries the zone still has…
    let (status, changed) = app
        .patch(&path, Some(&staff), json!({"countries": ["MX", "CA"]}))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["countries"], &changed["regions"]),
        (&json!(["MX", "CA"]), &json!({"CA": ["QC"]}))
    );
    // …and is refused, as a creation would be, when they would belong to none of them.
    let (status, refused) = app
        .patch(&path, Some(&staff), json!({"countries": ["MX"]}))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(
        refused["regions"][0],
        "\"CA\" is not one of the zone's countries."
    );
    // `regions: {}` covers each country whole.
    let (status, changed) = app
        .patch(
            &path,
            Some(&staff),
            json!({"countries": ["MX", "CA"], "regions": {}}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["countries"], &changed["regions"]),
        (&json!(["MX", "CA"]), &json!({}))
    );
    assert_eq!(
        places(&app).await,
        [place(zid, "MX", "", ""), place(zid, "CA", "", "")]
    );

    // Deleting the zone takes its places and its methods.
    created(
        &app,
        &staff,
        METHODS,
        json!({"zone": zid, "name": "Post", "kind": "flat", "price": "5"}),
    )
    .await;
    let (status, _) = app.delete(&path, Some(&staff)).await;
    assert_eq!(status, 204);
    let (status, _) = app.get_as(&path, Some(&staff)).await;
    assert_eq!(status, 404);
    assert_eq!(places(&app).await, []);
    assert_eq!(rows::<method::Entity>(&app).await, 0);
    // The countries are free again.
    created(
        &app,
        &staff,
        ZONES,
        json!({"name": "Again", "countries": ["MX"]}),
    )
    .await;
}

#[tokio::test]
async fn bad_zones_are_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let long = "x".repeat(101);
    let cases = [
        (
            json!({"countries": ["FR"]}),
            "name",
            "This field is required.",
        ),
        (
            json!({"name": "  ", "countries": ["FR"]}),
            "name",
            "This field may not be blank.",
        ),
        (
            json!({"name": long, "countries": ["FR"]}),
            "name",
            "Ensure this field has no more than 100 characters.",
        ),
        (
            json!({"name": "EU"}),
            "countries",
            "This field is required.",
        ),
        (
            json!({"name": "EU", "countries": "FR"}),
            "countries",
            "Expected a list of items but got type \"str\".",
        ),
        (
            json!({"name": "EU", "countries": []}),
            "countries",
            "This selection may not be empty.",
        ),
        (
            json!({"name": "EU", "countries": ["FR", "XX"]}),
            "countries",
            "\"XX\" is not a valid choice.",
        ),
        (
            json!({"name": "EU", "countries": ["FR", 7]}),
            "countries",
            "\"7\" is not a valid choice.",
        ),
        (
            json!({"name": "EU", "countries": ["FR"], "regions": ["IDF"]}),
            "regions",
            "Expected a dictionary of items but got type \"list\".",
        ),
        (
            json!({"name": "EU", "countries": ["FR"], "regions": {"DE": ["BY"]}}),
            "regions",
            "\"DE\" is not one of the zone's countries.",
        ),
        (
            json!({"name": "EU", "countries": ["FR"], "regions": {"FR": []}}),
            "regions",
            "Give the regions of FR as a list of 1 to 500.",
        ),
        (
            json!({"name": "EU", "countries": ["FR"], "regions": {"FR": "IDF"}}),
            "regions",
            "Give the regions of FR as a list of 1 to 500.",
        ),
        (
            json!({"name": "EU", "countries": ["FR"], "regions": {"FR": [" "]}}),
            "regions",
            "A region of FR may not be blank.",
        ),
        (
            json!({"name": "EU", "countries": ["FR"], "regions": {"FR": [1]}}),
            "regions",
            "Each region of FR must be a string.",
        ),
        (
            json!({"name": "EU", "countries": ["FR"], "regions": {"FR": [long]}}),
            "regions",
            "FR: Ensure this field has no more than 100 characters.",
        ),
        (
            json!({"name": "EU", "countries": ["FR"], "regions": {"FR": ["a\u{0}b"]}}),
            "regions",
            "FR: Null characters and control characters are not allowed.",
        ),
    ];
    refused_each(&app, &staff, Method::POST, ZONES, &cases).await;
    assert_eq!(rows::<zone::Entity>(&app).await, 0);
    assert_eq!(places(&app).await, []);

    // Every problem at once, one key per field.
    let (status, answer) = app
        .post(
            ZONES,
            Some(&staff),
            json!({"name": "", "countries": ["XX"], "regions": 3}),
        )
        .await;
    assert_eq!(status, 400);
    let mut keys: Vec<&String> = answer.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["countries", "name", "regions"], "{answer}");

    // A PATCH is refused the same way and changes nothing.
    let zone = created(
        &app,
        &staff,
        ZONES,
        json!({"name": "EU", "countries": ["FR"]}),
    )
    .await;
    let path = format!("{ZONES}{}/", id(&zone));
    let cases = [
        (json!({"name": ""}), "name", "This field may not be blank."),
        (
            json!({"countries": []}),
            "countries",
            "This selection may not be empty.",
        ),
        (
            json!({"countries": null}),
            "countries",
            "This field may not be null.",
        ),
        (
            json!({"regions": {"DE": ["BY"]}}),
            "regions",
            "\"DE\" is not one of the zone's countries.",
        ),
        (
            json!({"countries": ["DE"], "regions": {"FR": ["IDF"]}}),
            "regions",
            "\"FR\" is not one of the zone's countries.",
        ),
    ];
    refused_each(&app, &staff, Method::PATCH, &path, &cases).await;
    let (_, now) = app.get_as(&path, Some(&staff)).await;
    assert_eq!(now, zone);
    assert_eq!(places(&app).await, [place(id(&zone), "FR", "", "")]);
}

#[tokio::test]
async fn a_country_is_in_one_whole_country_zone_and_a_region_in_one_zone() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let europe = created(
        &app,
        &staff,
        ZONES,
        json!({"name": "Europe", "countries": ["DE", "FR"]}),
    )
    .await;
    let eu = id(&europe);

    // FR again, as a whole country: refused, naming FR and the zone; nothing stored.
    let (status, answer) = app
        .post(
            ZONES,
            Some(&staff),
            json!({"name": "France", "countries": ["BE", "fr"]}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer,
        json!({"countries": [format!("FR is already in the zone \"Europe\" (id {eu}).")]})
    );
    assert_eq!(rows::<zone::Entity>(&app).await, 1);
    assert_eq!(
        places(&app).await,
        [place(eu, "DE", "", ""), place(eu, "FR", "", "")]
    );

    // A zone narrowed to regions of the US, then AK narrowed again in another case: refused on
    // `regions`, naming the region and the zone.
    let remote = created(
        &app,
        &staff,
        ZONES,
        json!({"name": "Remote US", "countries": ["US"], "regions": {"US": ["AK", "HI"]}}),
    )
    .await;
    let rid = id(&remote);
    let (status, answer) = app
        .post(
            ZONES,
            Some(&staff),
            json!({"name": "Alaska", "countries": ["US"], "regions": {"US": [" ak "]}}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer,
        json!({"regions": [format!("ak (US) is already in the zone \"Remote US\" (id {rid}).")]})
    );

    // A whole-country US zone lives beside the narrowed one (which wins for AK and HI).
    let mainland = created(
        &app,
        &staff,
        ZONES,
        json!({"name": "US", "countries": ["US"]}),
    )
    .await;
    let us = id(&mainland);
    assert_eq!(rows::<zone::Entity>(&app).await, 3);

    // Every place taken is named, each under its field; the PATCH changes nothing.
    let before = places(&app).await;
    let path = format!("{ZONES}{us}/");
    let (status, answer) = app
        .patch(
            &path,
            Some(&staff),
            json!({"name": "Everything", "countries": ["US", "DE", "CA"],
                "regions": {"US": ["HI", "PR"]}}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer,
        json!({
            "countries": [format!("DE is already in the zone \"Europe\" (id {eu}).")],
            "regions": [format!("HI (US) is already in the zone \"Remote US\" (id {rid}).")],
        })
    );
    assert_eq!(places(&app).await, before);
    let (_, now) = app.get_as(&path, Some(&staff)).await;
    assert_eq!(now, mainland, "the name did not change either");

    // Its own places do not stand in its way: the same zone written again is fine.
    let (status, same) = app
        .patch(&path, Some(&staff), json!({"countries": ["US"]}))
        .await;
    assert_eq!(
        (status, &same["countries"]),
        (200, &json!(["US"])),
        "{same}"
    );
}

#[tokio::test]
async fn six_parallel_zones_of_one_country_store_it_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let answers = burst(6, |n| {
        app.request(Method::POST, ZONES, Some(&staff))
            .json(&json!({"name": format!("Zone {n}"), "countries": ["FR"]}))
    })
    .await;
    assert_eq!(
        (count(&answers, 201), count(&answers, 400)),
        (1, 5),
        "{answers:?}"
    );
    let winner = answers
        .iter()
        .find(|a| a.status == 201)
        .map(|a| id(&a.body))
        .expect("one created");
    for answer in answers.iter().filter(|a| a.status == 400) {
        let message = answer.body["countries"][0].as_str().expect("message");
        assert!(
            message.starts_with("FR is already in the zone")
                && message.contains(&format!("(id {winner})")),
            "{answer:?}"
        );
    }
    assert_eq!(places(&app).await, [place(winner, "FR", "", "")]);
    assert_eq!(
        rows::<zone::Entity>(&app).await,
        1,
        "the refused zones are gone"
    );
}

// ---------------------------------------------------------------------------------------------
// Methods

async fn zone_of(app: &TestApp, staff: &str, name: &str, country: &str) -> i64 {
    id(&created(
        app,
        staff,
        ZONES,
        json!({"name": name, "countries": [country]}),
    )
    .await)
}

#[tokio::test]
async fn staff_manage_methods_flat_or_by_weight_bands() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let eu = zone_of(&app, &staff, "EU", "FR").await;
    let us = zone_of(&app, &staff, "US", "US").await;

    let flat = json!({"zone": eu, "name": "Colissimo", "kind": "flat", "price": "5",
        "free_over": "50.00", "min_days": 2, "max_days": 4, "currency": "EUR"});
    let (status, _) = app.post(METHODS, Some(&customer), flat.clone()).await;
    assert_eq!(status, 403);
    let colissimo = created(&app, &staff, METHODS, flat).await;
    let cid = id(&colissimo);
    assert_eq!(
        colissimo,
        json!({"id": cid, "zone": eu, "name": "Colissimo", "kind": "flat", "price": "5.00",
            "rates": null, "free_over": "50.00", "min_days": 2, "max_days": 4,
            "is_active": true, "tax_class": "standard", "currency": "USD",
            "created_at": colissimo["created_at"], "updated_at": colissimo["updated_at"]})
    );

    let weight = created(
        &app,
        &staff,
        METHODS,
        json!({"zone": us, "name": "Ground", "kind": "weight",
            "rates": [{"up_to_grams": 500, "price": "4.50"}, {"up_to_grams": 2000, "price": 9}],
            "free_over": null, "is_active": false, "tax_class": "shipping"}),
    )
    .await;
    let wid = id(&weight);
    assert_eq!(weight["price"], Value::Null);
    assert_eq!(
        weight["rates"],
        json!([{"up_to_grams": 500, "price": "4.50"}, {"up_to_grams": 2000, "price": "9.00"}])
    );
    assert_eq!(
        (
            &weight["free_over"],
            &weight["min_days"],
            &weight["is_active"],
            &weight["tax_class"]
        ),
        (
            &Value::Null,
            &Value::Null,
            &json!(false),
            &json!("shipping")
        )
    );
    let stored = method::Entity::find_by_id(wid)
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        (stored.price, stored.rates.as_deref()),
        (None, Some("[[500,450],[2000,900]]"))
    );

    // The list, newest first, and by zone.
    let (status, page) = app.get_as(METHODS, Some(&staff)).await;
    assert_eq!((status, &page["count"]), (200, &json!(2)));
    assert_eq!(
        (id(&page["results"][0]), id(&page["results"][1])),
        (wid, cid)
    );
    let (_, page) = app
        .get_as(&format!("{METHODS}?zone={eu}"), Some(&staff))
        .await;
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0], colissimo);
    let (status, answer) = app
        .get_as(&format!("{METHODS}?zone=eu"), Some(&staff))
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer, json!({"zone": ["A valid integer is required."]}));

    // A new kind comes with its price or bands, and the other is cleared.
    let path = format!("{METHODS}{cid}/");
    let (status, changed) = app
        .patch(
            &path,
            Some(&staff),
            json!({"kind": "weight", "rates": [{"up_to_grams": 1000, "price": "7"}],
                "max_days": null, "zone": us}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["kind"], &changed["price"], &changed["rates"]),
        (
            &json!("weight"),
            &Value::Null,
            &json!([{"up_to_grams": 1000, "price": "7.00"}])
        )
    );
    assert_eq!(
        (
            &changed["zone"],
            &changed["max_days"],
            &changed["free_over"],
            &changed["min_days"]
        ),
        (&json!(us), &Value::Null, &json!("50.00"), &json!(2)),
        "fields not given are kept"
    );
    let (status, changed) = app
        .patch(
            &path,
            Some(&staff),
            json!({"kind": "flat", "price": "3.99", "rates": null}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["price"], &changed["rates"]),
        (&json!("3.99"), &Value::Null)
    );
    let stored = method::Entity::find_by_id(cid)
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!((stored.price, stored.rates), (Some(399), None));
    let (status, one) = app.get_as(&path, Some(&staff)).await;
    assert_eq!((status, &one), (200, &changed));

    let (status, _) = app.delete(&path, Some(&staff)).await;
    assert_eq!(status, 204);
    let (status, _) = app.get_as(&path, Some(&staff)).await;
    assert_eq!(status, 404);
    assert_eq!(rows::<method::Entity>(&app).await, 1);
}

#[tokio::test]
async fn bad_methods_are_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let zid = zone_of(&app, &staff, "EU", "FR").await;
    let flat = |extra: Value| {
        let mut body = json!({"zone": zid, "name": "Post", "kind": "flat", "price": "5.00"});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let band = |g: i64, p: &str| json!({"up_to_grams": g, "price": p});
    let too_many: Vec<Value> = (1..=51).map(|g| band(g, "1")).collect();
    let cases = [
        (
            json!({"name": "Post", "kind": "flat", "price": "5"}),
            "zone",
            "This field is required.",
        ),
        (
            flat(json!({"zone": 9999})),
            "zone",
            "Invalid pk \"9999\" - object does not exist.",
        ),
        (
            flat(json!({"zone": "x"})),
            "zone",
            "A valid integer is required.",
        ),
        (
            flat(json!({"name": ""})),
            "name",
            "This field may not be blank.",
        ),
        (
            flat(json!({"name": "n".repeat(101)})),
            "name",
            "Ensure this field has no more than 100 characters.",
        ),
        (
            flat(json!({"kind": "express"})),
            "kind",
            "\"express\" is not a valid choice.",
        ),
        (
            json!({"zone": zid, "name": "Post", "price": "5"}),
            "kind",
            "This field is required.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "flat"}),
            "price",
            "This field is required.",
        ),
        (
            flat(json!({"price": null})),
            "price",
            "A flat method needs a price.",
        ),
        (
            flat(json!({"price": "-1"})),
            "price",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            flat(json!({"price": "1.001"})),
            "price",
            "Ensure that there are no more than 2 decimal places.",
        ),
        (
            flat(json!({"price": 4.5})),
            "price",
            "A valid number is required.",
        ),
        (
            flat(json!({"rates": [band(1, "1")]})),
            "rates",
            "Only a weight method has rates.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight"}),
            "rates",
            "This field is required.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight", "rates": [band(1, "1")], "price": "2"}),
            "price",
            "Only a flat method has a price.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight", "rates": {}}),
            "rates",
            "Expected a list of items but got type \"dict\".",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight", "rates": []}),
            "rates",
            "Give 1 to 50 weight bands.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight", "rates": too_many}),
            "rates",
            "Give 1 to 50 weight bands.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight",
                "rates": [band(1000, "5"), band(1000, "6")]}),
            "rates",
            "Each band's up_to_grams must be greater than the one before.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight",
                "rates": [band(1000, "5"), band(500, "6")]}),
            "rates",
            "Each band's up_to_grams must be greater than the one before.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight",
                "rates": [band(500, "5"), band(0, "6")]}),
            "rates.1",
            "up_to_grams: Ensure this value is greater than or equal to 1.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight", "rates": [band(500, "-5")]}),
            "rates.0",
            "price: Ensure this value is greater than or equal to 0.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight", "rates": [{"price": "5"}]}),
            "rates.0",
            "up_to_grams: This field is required.",
        ),
        (
            json!({"zone": zid, "name": "Post", "kind": "weight", "rates": [5]}),
            "rates.0",
            "Expected an object with up_to_grams and price.",
        ),
        (
            flat(json!({"free_over": "-0.01"})),
            "free_over",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            flat(json!({"min_days": -1})),
            "min_days",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            flat(json!({"max_days": 366})),
            "max_days",
            "Ensure this value is less than or equal to 365.",
        ),
        (
            flat(json!({"min_days": 5, "max_days": 3})),
            "max_days",
            "Ensure this value is greater than or equal to min_days (5).",
        ),
        (
            flat(json!({"is_active": "maybe"})),
            "is_active",
            "Must be a valid boolean.",
        ),
        (
            flat(json!({"tax_class": "Reduced Rate"})),
            "tax_class",
            "Enter 1 to 32 lower-case letters, digits, hyphens or underscores.",
        ),
        (
            flat(json!({"tax_class": ""})),
            "tax_class",
            "Enter 1 to 32 lower-case letters, digits, hyphens or underscores.",
        ),
    ];
    refused_each(&app, &staff, Method::POST, METHODS, &cases).await;
    // The rules that span fields and the zone's existence are reported together.
    let (status, answer) = app
        .post(
            METHODS,
            Some(&staff),
            json!({"zone": 9999, "name": "Post", "kind": "flat", "min_days": 3, "max_days": 1}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer,
        json!({"zone": ["Invalid pk \"9999\" - object does not exist."],
            "price": ["This field is required."],
            "max_days": ["Ensure this value is greater than or equal to min_days (3)."]})
    );
    assert_eq!(rows::<method::Entity>(&app).await, 0);

    // PATCH: a new kind without its price or bands, or a rule broken against the stored row,
    // changes nothing.
    let post = created(&app, &staff, METHODS, flat(json!({"min_days": 2}))).await;
    let path = format!("{METHODS}{}/", id(&post));
    let cases = [
        (
            json!({"kind": "weight"}),
            "rates",
            "Give the rates with the kind.",
        ),
        (
            json!({"kind": "weight", "rates": [band(10, "1")], "price": "1"}),
            "price",
            "Only a flat method has a price.",
        ),
        (
            json!({"max_days": 1}),
            "max_days",
            "Ensure this value is greater than or equal to min_days (2).",
        ),
        (
            json!({"price": null}),
            "price",
            "A flat method needs a price.",
        ),
        (
            json!({"zone": 9999}),
            "zone",
            "Invalid pk \"9999\" - object does not exist.",
        ),
        (json!({"name": null}), "name", "This field may not be null."),
    ];
    refused_each(&app, &staff, Method::PATCH, &path, &cases).await;
    let (_, now) = app.get_as(&path, Some(&staff)).await;
    assert_eq!(now, post);
}

// ---------------------------------------------------------------------------------------------
// Tax rates

#[tokio::test]
async fn staff_manage_tax_rates_per_country_region_and_class() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let body = json!({"country": "gb", "rate": "20", "name": "VAT"});
    let (status, _) = app.post(RATES, Some(&customer), body.clone()).await;
    assert_eq!(status, 403);
    let (status, _) = app.get(RATES).await;
    assert_eq!(status, 401);

    let vat = created(&app, &staff, RATES, body).await;
    let vid = id(&vat);
    assert_eq!(
        vat,
        json!({"id": vid, "country": "GB", "region": null, "tax_class": "standard",
            "rate": "20.00", "name": "VAT",
            "created_at": vat["created_at"], "updated_at": vat["updated_at"]})
    );
    let reduced = created(
        &app,
        &staff,
        RATES,
        json!({"country": "GB", "rate": 5, "name": "VAT", "tax_class": "reduced"}),
    )
    .await;
    assert_eq!(
        (&reduced["rate"], &reduced["tax_class"]),
        (&json!("5.00"), &json!("reduced"))
    );
    let ny = created(
        &app,
        &staff,
        RATES,
        json!({"country": "US", "region": " NY ", "rate": 8.875, "name": "Sales tax"}),
    )
    .await;
    assert_eq!(
        (&ny["region"], &ny["rate"]),
        (&json!("NY"), &json!("8.875"))
    );
    let stored = rate::Entity::find_by_id(id(&ny))
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        (
            stored.region.as_str(),
            stored.region_key.as_str(),
            stored.rate
        ),
        ("NY", "ny", 88_750)
    );

    let (status, page) = app.get_as(RATES, Some(&staff)).await;
    assert_eq!((status, &page["count"]), (200, &json!(3)));
    assert_eq!(page["results"][0], ny, "newest first");
    let (_, page) = app
        .get_as(&format!("{RATES}?country=gb"), Some(&staff))
        .await;
    assert_eq!(page["count"], 2);
    let (status, answer) = app
        .get_as(&format!("{RATES}?country=XX"), Some(&staff))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer,
        json!({"country": ["Select a valid choice. XX is not one of the available choices."]})
    );

    // PATCH: partial; `region: null` makes a region's rate the country's.
    let path = format!("{RATES}{}/", id(&ny));
    let (status, changed) = app
        .patch(
            &path,
            Some(&staff),
            json!({"rate": "4.0000", "region": null}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["rate"], &changed["region"], &changed["name"]),
        (&json!("4.00"), &Value::Null, &json!("Sales tax"))
    );
    let (status, one) = app.get_as(&path, Some(&staff)).await;
    assert_eq!((status, &one), (200, &changed));

    let (status, _) = app.delete(&path, Some(&staff)).await;
    assert_eq!(status, 204);
    let (status, _) = app.delete(&path, Some(&staff)).await;
    assert_eq!(status, 404);
    assert_eq!(rows::<rate::Entity>(&app).await, 2);
}

#[tokio::test]
async fn bad_tax_rates_are_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let good = |extra: Value| {
        let mut body = json!({"country": "DE", "rate": "19", "name": "MwSt"});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            json!({"rate": "19", "name": "MwSt"}),
            "country",
            "This field is required.",
        ),
        (
            good(json!({"country": "XX"})),
            "country",
            "\"XX\" is not a valid choice.",
        ),
        (
            good(json!({"country": "DEU"})),
            "country",
            "Ensure this field has no more than 2 characters.",
        ),
        (
            good(json!({"region": ""})),
            "region",
            "This field may not be blank.",
        ),
        (
            good(json!({"region": "r".repeat(101)})),
            "region",
            "Ensure this field has no more than 100 characters.",
        ),
        (
            good(json!({"tax_class": "Food"})),
            "tax_class",
            "Enter 1 to 32 lower-case letters, digits, hyphens or underscores.",
        ),
        (
            json!({"country": "DE", "name": "MwSt"}),
            "rate",
            "This field is required.",
        ),
        (
            good(json!({"rate": "abc"})),
            "rate",
            "A valid number is required.",
        ),
        (
            good(json!({"rate": "-1"})),
            "rate",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            good(json!({"rate": "100.5"})),
            "rate",
            "Ensure this value is less than or equal to 100.",
        ),
        (
            good(json!({"rate": 101})),
            "rate",
            "Ensure this value is less than or equal to 100.",
        ),
        (
            good(json!({"rate": "7.12345"})),
            "rate",
            "Ensure that there are no more than 4 decimal places.",
        ),
        (
            json!({"country": "DE", "rate": "19"}),
            "name",
            "This field is required.",
        ),
        (
            good(json!({"name": " "})),
            "name",
            "This field may not be blank.",
        ),
    ];
    refused_each(&app, &staff, Method::POST, RATES, &cases).await;
    assert_eq!(rows::<rate::Entity>(&app).await, 0);

    let rate = created(&app, &staff, RATES, good(json!({}))).await;
    let path = format!("{RATES}{}/", id(&rate));
    let cases = [
        (
            json!({"country": null}),
            "country",
            "This field may not be null.",
        ),
        (
            json!({"rate": "200"}),
            "rate",
            "Ensure this value is less than or equal to 100.",
        ),
        (
            json!({"tax_class": null}),
            "tax_class",
            "This field may not be null.",
        ),
    ];
    refused_each(&app, &staff, Method::PATCH, &path, &cases).await;
    let (_, now) = app.get_as(&path, Some(&staff)).await;
    assert_eq!(now, rate);
}

#[tokio::test]
async fn a_second_rate_for_one_country_region_and_class_is_refused() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    const TAKEN: &str = "A rate for this country, region and tax class already exists.";
    created(
        &app,
        &staff,
        RATES,
        json!({"country": "US", "region": "CA", "rate": "7.25", "name": "Sales tax"}),
    )
    .await;
    let (status, answer) = app
        .post(
            RATES,
            Some(&staff),
            json!({"country": "us", "region": " ca ", "rate": "8", "name": "Other"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer, json!({"tax_class": [TAKEN]}));
    // Another class, the whole country, another region: all fine.
    created(
        &app,
        &staff,
        RATES,
        json!({"country": "US", "region": "CA", "tax_class": "food", "rate": "0", "name": "Food"}),
    )
    .await;
    let country = created(
        &app,
        &staff,
        RATES,
        json!({"country": "US", "rate": "0", "name": "None"}),
    )
    .await;
    let texas = created(
        &app,
        &staff,
        RATES,
        json!({"country": "US", "region": "TX", "rate": "6.25", "name": "Sales tax"}),
    )
    .await;
    assert_eq!(rows::<rate::Entity>(&app).await, 4);
    let (status, answer) = app
        .post(
            RATES,
            Some(&staff),
            json!({"country": "US", "rate": "1", "name": "Again"}),
        )
        .await;
    assert_eq!((status, &answer), (400, &json!({"tax_class": [TAKEN]})));

    // A PATCH onto a taken place is refused and changes nothing.
    let path = format!("{RATES}{}/", id(&texas));
    let (status, answer) = app
        .patch(
            &path,
            Some(&staff),
            json!({"region": "Ca", "name": "Moved", "rate": "1"}),
        )
        .await;
    assert_eq!((status, &answer), (400, &json!({"tax_class": [TAKEN]})));
    let (_, now) = app.get_as(&path, Some(&staff)).await;
    assert_eq!(now, texas);
    let path = format!("{RATES}{}/", id(&country));
    let (status, answer) = app
        .patch(&path, Some(&staff), json!({"region": "tx"}))
        .await;
    assert_eq!((status, &answer), (400, &json!({"tax_class": [TAKEN]})));
    assert_eq!(rows::<rate::Entity>(&app).await, 4);
}

#[tokio::test]
async fn six_parallel_rates_of_one_country_and_class_store_one() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let answers = burst(6, |n| {
        app.request(Method::POST, RATES, Some(&staff))
            .json(&json!({"country": "FR", "rate": format!("{}", 20 - n), "name": "TVA"}))
    })
    .await;
    assert_eq!(
        (count(&answers, 201), count(&answers, 400)),
        (1, 5),
        "{answers:?}"
    );
    for answer in answers.iter().filter(|a| a.status == 400) {
        assert_eq!(
            answer.body,
            json!({"tax_class": ["A rate for this country, region and tax class already exists."]})
        );
    }
    let stored = rate::Entity::find()
        .filter(rate::Column::Country.eq("FR"))
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(stored, 1);
}

// ---------------------------------------------------------------------------------------------
// All three

#[tokio::test]
async fn a_retried_creation_with_one_idempotency_key_creates_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let zid = zone_of(&app, &staff, "EU", "FR").await;
    let cases = [
        (ZONES, json!({"name": "Nordics", "countries": ["SE", "NO"]})),
        (
            METHODS,
            json!({"zone": zid, "name": "Post", "kind": "flat", "price": "5"}),
        ),
        (
            RATES,
            json!({"country": "SE", "rate": "25", "name": "Moms"}),
        ),
    ];
    for (path, body) in cases {
        let key = format!("key-{}", uuid::Uuid::new_v4().simple());
        let (status, replayed, first) = post_keyed(&app, path, &staff, &key, &body).await;
        assert_eq!((status, replayed), (201, false), "{path}: {first}");
        let (status, replayed, second) = post_keyed(&app, path, &staff, &key, &body).await;
        assert_eq!((status, replayed), (201, true), "{path}: {second}");
        assert_eq!(second, first, "{path}: the first answer");
        let mut other = body.clone();
        other["name"] = json!("Other");
        let (status, _, _) = post_keyed(&app, path, &staff, &key, &other).await;
        assert_eq!(status, 422, "{path}: another request with the key");
    }
    assert_eq!(rows::<zone::Entity>(&app).await, 2);
    assert_eq!(rows::<method::Entity>(&app).await, 1);
    assert_eq!(rows::<rate::Entity>(&app).await, 1);
    assert_eq!(
        zone_area::Entity::find()
            .filter(zone_area::Column::Country.is_in(["SE", "NO"]))
            .count(&app.state.db)
            .await
            .expect("count"),
        2
    );
}

#[tokio::test]
async fn only_staff_reach_the_endpoints_and_unknown_ids_are_404() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    for list in [ZONES, METHODS, RATES] {
        let item = format!("{list}1/");
        for (method, path) in [
            (Method::GET, list),
            (Method::POST, list),
            (Method::GET, item.as_str()),
            (Method::PATCH, item.as_str()),
            (Method::DELETE, item.as_str()),
        ] {
            let body = Some(json!({}));
            let (status, _) = app.call(method.clone(), path, None, body.clone()).await;
            assert_eq!(status, 401, "{method} {path}");
            let (status, _) = app.call(method.clone(), path, Some(&customer), body).await;
            assert_eq!(status, 403, "{method} {path}");
        }
        let missing = format!("{list}424242/");
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            let (status, answer) = app
                .call(
                    method.clone(),
                    &missing,
                    Some(&staff),
                    Some(json!({"name": "X"})),
                )
                .await;
            assert_eq!(
                (status, &answer),
                (404, &json!({"detail": "Not found."})),
                "{method} {missing}"
            );
        }
        let (status, _) = app.get_as(&format!("{list}abc/"), Some(&staff)).await;
        assert_eq!(status, 404);
        let (status, page) = app.get_as(list, Some(&staff)).await;
        assert_eq!(
            (status, &page),
            (
                200,
                &json!({"count": 0, "next": null, "previous": null, "results": []})
            )
        );
    }
}

#[tokio::test]
async fn regions_are_told_apart_by_every_letter_on_every_engine() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    // Lower-cased keys that differ only by an accent or a ß: different places, as on SQLite and
    // PostgreSQL, so on MariaDB too (whose default collation would call them equal).
    created(
        &app,
        &staff,
        ZONES,
        json!({"name": "Zürich", "countries": ["CH"], "regions": {"CH": ["Zürich"]}}),
    )
    .await;
    created(
        &app,
        &staff,
        ZONES,
        json!({"name": "Zurich", "countries": ["CH"], "regions": {"CH": ["Zurich"]}}),
    )
    .await;
    created(
        &app,
        &staff,
        ZONES,
        json!({"name": "Both", "countries": ["DE"], "regions": {"DE": ["Straße", "Strasse"]}}),
    )
    .await;
    assert_eq!(places(&app).await.len(), 4);
    created(
        &app,
        &staff,
        RATES,
        json!({"country": "CA", "region": "Québec", "rate": "9.975", "name": "QST"}),
    )
    .await;
    created(
        &app,
        &staff,
        RATES,
        json!({"country": "CA", "region": "Quebec", "rate": "9.975", "name": "QST"}),
    )
    .await;
}
