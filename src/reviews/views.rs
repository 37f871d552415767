//! Request and response types of reviews, with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::review;
use crate::http::extract::{Fields, FromFields};

/// Longest title.
pub const TITLE_MAX: usize = 120;
/// Longest body.
pub const BODY_MAX: usize = 5000;

/// A review. `title` and `body` are the author's text as given: escape them when showing them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: i64,
    /// The product's id.
    pub product: i64,
    /// The author's user id.
    pub user: i64,
    /// The author as shown: first name and last initial, or "Customer".
    #[schema(example = "Ada L.")]
    pub author: String,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i32,
    pub title: String,
    pub body: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

impl ReviewView {
    /// The view of `row` by `author`.
    pub fn new(row: review::Model, author: String) -> ReviewView {
        ReviewView {
            id: row.id,
            product: row.product_id,
            user: row.user_id,
            author,
            rating: row.rating,
            title: row.title,
            body: row.body,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A review's fields as a request gives them (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct ReviewInput {
    pub rating: Option<i32>,
    pub title: Option<String>,
    pub body: Option<String>,
}

fn read_review(fields: &mut Fields, partial: bool) -> ReviewInput {
    if !partial && !fields.contains("rating") {
        fields.error("rating", "This field is required.");
    }
    let rating = fields
        .integer_in("rating", 1, 5)
        .and_then(|r| i32::try_from(r).ok());
    ReviewInput {
        rating,
        title: fields.optional_text("title", TITLE_MAX),
        body: fields.optional_text("body", BODY_MAX),
    }
}

/// `POST /api/products/{id}/reviews/`.
#[derive(Debug, ToSchema)]
pub struct ReviewRequest {
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i32,
    /// At most 120 characters; no control characters.
    #[schema(nullable = false, max_length = 120)]
    pub title: Option<String>,
    /// At most 5,000 characters; line breaks and tabs allowed, other control characters not.
    #[schema(nullable = false, max_length = 5000)]
    pub body: Option<String>,
}

impl FromFields for ReviewRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_review(fields, false);
        Some(ReviewRequest {
            rating: input.rating?,
            title: input.title,
            body: input.body,
        })
    }
}

impl From<ReviewRequest> for ReviewInput {
    fn from(r: ReviewRequest) -> ReviewInput {
        ReviewInput {
            rating: Some(r.rating),
            title: r.title,
            body: r.body,
        }
    }
}

/// `PATCH /api/reviews/{id}/`: any of the fields.
#[derive(Debug, ToSchema)]
pub struct ReviewChanges {
    #[schema(nullable = false, minimum = 1, maximum = 5)]
    pub rating: Option<i32>,
    #[schema(nullable = false, max_length = 120)]
    pub title: Option<String>,
    #[schema(nullable = false, max_length = 5000)]
    pub body: Option<String>,
}

impl FromFields for ReviewChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_review(fields, true);
        Some(ReviewChanges {
            rating: input.rating,
            title: input.title,
            body: input.body,
        })
    }
}

impl From<ReviewChanges> for ReviewInput {
    fn from(c: ReviewChanges) -> ReviewInput {
        ReviewInput {
            rating: c.rating,
            title: c.title,
            body: c.body,
        }
    }
}
