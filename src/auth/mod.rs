//! Identity, below every app: the `users` table, the JWT keys, and the `Authorization: Bearer
//! <access>` extractors with permission as a type. Apps (accounts for registration and
//! sessions, every other app for "who is asking") build on it; it imports none of them.
//!
//! [`AuthUser`] requires a valid access token of an active user; [`MaybeAuthUser`] allows none
//! but still refuses a bad one (it never swallows an invalid token); [`StaffUser`] exists only
//! for staff, so a handler that takes one cannot run for anybody else.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use sea_orm::EntityTrait;

pub mod tokens;
pub mod user;

use crate::http::error::{ApiError, forbidden};
use crate::state::AppState;
use tokens::TokenType;

/// An authenticated, active user.
#[derive(Clone, Debug)]
pub struct AuthUser {
    /// The user's row as loaded for this request.
    pub user: user::Model,
}

impl AuthUser {
    /// The user's id.
    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// True for staff (admins).
    pub fn is_staff(&self) -> bool {
        self.user.is_staff
    }

    /// Owner-or-staff: may this user act on an object owned by `owner_id`?
    pub fn may_act_for(&self, owner_id: i64) -> bool {
        self.user.is_staff || self.user.id == owner_id
    }
}

/// A staff user.
#[derive(Clone, Debug)]
pub struct StaffUser(pub AuthUser);

/// An authenticated user, or nobody.
#[derive(Clone, Debug)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl MaybeAuthUser {
    /// True when somebody is logged in and is staff.
    pub fn is_staff(&self) -> bool {
        self.0.as_ref().is_some_and(AuthUser::is_staff)
    }
}

fn invalid_token() -> ApiError {
    ApiError::InvalidToken("Given token not valid for any token type".to_owned())
}

/// The bearer token, if the header carries one. Other schemes are ignored (as DRF does).
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<AuthUser>, ApiError> {
    let Some(token) = bearer(parts) else {
        return Ok(None);
    };
    let claims = state
        .tokens
        .verify(token, TokenType::Access)
        .map_err(|_| invalid_token())?;
    let user = user::Entity::find_by_id(claims.user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| ApiError::InvalidToken("User not found".to_owned()))?;
    Ok(Some(AuthUser { user }))
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, &AppState::from_ref(state))
            .await?
            .ok_or(ApiError::NotAuthenticated)
    }
}

impl<S> FromRequestParts<S> for MaybeAuthUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuthUser(
            authenticate(parts, &AppState::from_ref(state)).await?,
        ))
    }
}

impl<S> FromRequestParts<S> for StaffUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.is_staff() {
            Ok(StaffUser(user))
        } else {
            Err(forbidden(
                "You do not have permission to perform this action.",
            ))
        }
    }
}
