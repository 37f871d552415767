//! The `jobs` table, with the two values its rows are sorted by: the kind and the state.

use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

/// One job. `payload` is JSON text.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: Kind,
    pub payload: String,
    pub state: State,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTimeUtc,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    #[sea_orm(unique)]
    pub unique_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The name a job kind is stored under ([`super::Job::KIND`]), as read back from a row: a row
/// may name a kind this version no longer registers, so it is a name, not a closed set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, DeriveValueType, Serialize)]
#[serde(transparent)]
pub struct Kind(pub String);

impl Kind {
    /// The stored name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a job is in its life.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
#[schema(as = JobState)]
pub enum State {
    /// Waiting for its `run_at`.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Claimed by a worker, under lease.
    #[sea_orm(string_value = "running")]
    Running,
    /// Failed; will run again at its `run_at`.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Finished successfully.
    #[sea_orm(string_value = "done")]
    Done,
    /// Gave up: kept for an operator to inspect and retry.
    #[sea_orm(string_value = "dead")]
    Dead,
}

impl State {
    /// Every state, for metrics and validation.
    pub const ALL: [State; 5] = [
        State::Queued,
        State::Running,
        State::Failed,
        State::Done,
        State::Dead,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Failed => "failed",
            State::Done => "done",
            State::Dead => "dead",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
