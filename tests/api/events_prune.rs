//! The outbox and the deliveries log do not grow for ever: the hourly jobs delete events older
//! than `EMPORIUM_EVENT_RETENTION` once they were dispatched (and published, with a broker),
//! keeping each resource's last event so its sequence goes on; and delivered or failed
//! deliveries as old. Nothing younger, nothing waiting, goes.

use chrono::{TimeDelta, Utc};
use emporium::events::event;
use emporium::events::kind::EventType;
use emporium::events::prune::PruneEvents;
use emporium::events::service::{NewEvent, Resource, events_of, record};
use emporium::jobs::JobContext;
use emporium::webhooks::delivery::{self, DeliveryStatus};
use emporium::webhooks::delivery_store::{NewDelivery, pending};
use emporium::webhooks::prune::PruneDeliveries;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::helpers::{TestApp, run_job};
use crate::webhook_deliveries::{hook, node_without_worker};

fn context(app: &TestApp) -> JobContext {
    JobContext {
        state: app.state.clone(),
        job_id: 0,
        attempt: 1,
    }
}

async fn events_about(app: &TestApp, product: i64, n: usize) {
    let events = (0..n)
        .map(|_| {
            NewEvent::of(
                EventType::ProductUpdated,
                Resource::Product(product),
                &json!({}),
            )
            .expect("event")
        })
        .collect();
    record(&app.state.db, events, Utc::now())
        .await
        .expect("recorded");
}

async fn sequences(app: &TestApp, product: i64) -> Vec<i64> {
    events_of(&app.state.db, &Resource::Product(product))
        .await
        .expect("events")
        .iter()
        .map(|e| e.sequence)
        .collect()
}

#[tokio::test]
async fn old_dispatched_events_go_but_each_resources_last_one_stays() {
    let app = node_without_worker().await;
    events_about(&app, 1, 3).await;
    events_about(&app, 2, 1).await;
    events_about(&app, 3, 2).await;
    let old = Utc::now() - TimeDelta::days(31);
    // Products 1 and 2: old and dispatched. Product 3: old but never dispatched.
    event::Entity::update_many()
        .col_expr(event::Column::CreatedAt, Expr::value(old))
        .exec(&app.state.db)
        .await
        .expect("aged");
    event::Entity::update_many()
        .col_expr(event::Column::DispatchedAt, Expr::value(old))
        .filter(event::Column::Resource.ne("product:3"))
        .exec(&app.state.db)
        .await
        .expect("dispatched");
    events_about(&app, 4, 2).await; // young

    run_job::<PruneEvents>(context(&app), json!({}))
        .await
        .expect("pruned");
    assert_eq!(sequences(&app, 1).await, [3]);
    assert_eq!(sequences(&app, 2).await, [1]);
    assert_eq!(sequences(&app, 3).await, [1, 2], "never dispatched: kept");
    assert_eq!(sequences(&app, 4).await, [1, 2], "young: kept");
    // The next event of product 1 counts on from the one kept.
    events_about(&app, 1, 1).await;
    assert_eq!(sequences(&app, 1).await, [3, 4]);
    // Now a later one exists, the old one it counted on goes too.
    run_job::<PruneEvents>(context(&app), json!({}))
        .await
        .expect("pruned");
    assert_eq!(sequences(&app, 1).await, [4]);
}

#[tokio::test]
async fn old_finished_deliveries_go_and_pending_ones_stay() {
    let app = node_without_worker().await;
    let staff = app.staff_token().await;
    let (id, _) = hook(&app, &staff, "https://1.1.1.1/hook", json!(["*"])).await;
    let now = Utc::now();
    let old = now - TimeDelta::days(31);
    let mut made = Vec::new();
    for (n, (status, at)) in [
        (DeliveryStatus::Delivered, old),
        (DeliveryStatus::Failed, old),
        (DeliveryStatus::Pending, old),
        (DeliveryStatus::Delivered, now),
    ]
    .into_iter()
    .enumerate()
    {
        let mut row = pending(
            NewDelivery {
                endpoint_id: id,
                event_id: format!("evt_{n}"),
                event_type: "product.updated".to_owned(),
            },
            at,
        );
        row.status = Set(status);
        made.push(row.insert(&app.state.db).await.expect("delivery").id);
    }
    run_job::<PruneDeliveries>(context(&app), json!({}))
        .await
        .expect("pruned");
    let mut left: Vec<i64> = delivery::Entity::find()
        .filter(delivery::Column::EndpointId.eq(id))
        .all(&app.state.db)
        .await
        .expect("deliveries")
        .iter()
        .map(|d| d.id)
        .collect();
    left.sort_unstable();
    assert_eq!(
        left,
        [made[2], made[3]],
        "the old pending one and the young one"
    );
}
