//! Thin handlers of `/api/auth/…`: extract, call one service function, return a view.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::service::{self, NewUser};
use super::views::{
    AddressChanges, AddressRequest, AddressView, LoginRequest, PasswordChange, PasswordReset,
    PasswordResetConfirm, ProfileUpdate, RefreshRequest, RegisterRequest, TokenPairView, UserView,
};
use super::{addresses, reset, sessions};
use crate::auth::AuthUser;
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::extract::{Form, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::state::AppState;
use crate::throttle::Limiter;

/// The failed-login limit, shared by login and password change.
fn login_failures(state: &AppState) -> Limiter<'_> {
    Limiter {
        store: &state.throttle,
        rate: state.settings.login_failures(),
    }
}

/// Create an account.
#[utoipa::path(post, path = "/api/auth/register/", tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "Email taken or invalid; weak password", body = ValidationErrors),
    ))]
pub async fn register(
    State(state): State<AppState>,
    context: RequestContext,
    Form(request): Form<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let limit = state.settings.throttle_register.map(|rate| Limiter {
        store: &state.throttle,
        rate,
    });
    let user = service::register(
        &state.db,
        &state.hash_gate,
        limit,
        NewUser {
            email: request.email,
            password: request.password,
            first_name: request.first_name.unwrap_or_default(),
            last_name: request.last_name.unwrap_or_default(),
            is_staff: false,
        },
        context.client_ip,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Log in: a new access and refresh token.
#[utoipa::path(post, path = "/api/auth/login/", tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPairView),
        (status = 401, description = "Wrong email or password", body = ErrorDetail),
        (status = 429, description = "Too many failed logins for this account or client; see Retry-After", body = ErrorDetail),
    ))]
pub async fn login(
    State(state): State<AppState>,
    context: RequestContext,
    Form(request): Form<LoginRequest>,
) -> ApiResult<Json<TokenPairView>> {
    let pair = sessions::login(
        &state.db,
        &state.hash_gate,
        &state.tokens,
        login_failures(&state),
        &request.email,
        request.password,
        context.client_ip,
    )
    .await?;
    Ok(Json(pair.into()))
}

/// Exchange a refresh token for a new pair; the old one is spent.
#[utoipa::path(post, path = "/api/auth/refresh/", tag = "accounts",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenPairView),
        (status = 401, description = "Expired, spent or revoked (code token_not_valid); a spent token revokes its family", body = ErrorDetail),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Form(request): Form<RefreshRequest>,
) -> ApiResult<Json<TokenPairView>> {
    Ok(Json(
        sessions::refresh(
            &state.db,
            &state.tokens,
            state.settings.refresh_reuse_grace,
            &request.refresh,
        )
        .await?
        .into(),
    ))
}

/// Log out: the refresh token (and every token rotated from the same login) is revoked.
#[utoipa::path(post, path = "/api/auth/logout/", tag = "accounts",
    request_body = RefreshRequest,
    responses(
        (status = 205, description = "Logged out"),
        (status = 401, description = "Not a valid refresh token", body = ErrorDetail),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    Form(request): Form<RefreshRequest>,
) -> ApiResult<StatusCode> {
    sessions::logout(&state.db, &state.tokens, &request.refresh).await?;
    Ok(StatusCode::RESET_CONTENT)
}

/// The current user.
#[utoipa::path(get, path = "/api/auth/me/", tag = "accounts", security(("jwt" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "Not authenticated", body = ErrorDetail),
    ))]
pub async fn me(user: AuthUser) -> Json<UserView> {
    Json(user.user.into())
}

/// Change the current user's names (`email` and `is_staff` are not writable).
#[utoipa::path(patch, path = "/api/auth/me/", tag = "accounts", security(("jwt" = [])),
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, description = "Invalid field", body = ValidationErrors),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    Form(update): Form<ProfileUpdate>,
) -> ApiResult<Json<UserView>> {
    let user =
        service::update_profile(&state.db, user.user, update.first_name, update.last_name).await?;
    Ok(Json(user.into()))
}

/// Change the password; every refresh token of the user is revoked.
#[utoipa::path(post, path = "/api/auth/password/change/", tag = "accounts", security(("jwt" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Wrong old password or weak new one", body = ValidationErrors),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    Form(change): Form<PasswordChange>,
) -> ApiResult<StatusCode> {
    service::change_password(
        &state.db,
        &state.hash_gate,
        login_failures(&state),
        &user.user,
        change.old_password,
        change.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask for a password-reset code by email. 204 whether or not the account exists.
#[utoipa::path(post, path = "/api/auth/password/reset/", tag = "accounts",
    request_body = PasswordReset,
    responses(
        (status = 204, description = "If the account exists, a code valid for one hour is on its way"),
        (status = 429, description = "Asked too often", body = ErrorDetail),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    context: RequestContext,
    Form(reset): Form<PasswordReset>,
) -> ApiResult<StatusCode> {
    reset::request_password_reset(&state.db, &state.throttle, &reset.email, context.client_ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a new password with the emailed code; every refresh token of the user is revoked.
#[utoipa::path(post, path = "/api/auth/password/reset/confirm/", tag = "accounts",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password set"),
        (status = 400, description = "Bad, used or expired code, or weak password", body = ValidationErrors),
    ))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    Form(confirm): Form<PasswordResetConfirm>,
) -> ApiResult<StatusCode> {
    reset::confirm_password_reset(
        &state.db,
        &state.hash_gate,
        &confirm.token,
        confirm.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The current user's addresses, the default first.
#[utoipa::path(get, path = "/api/auth/addresses/", tag = "accounts", security(("jwt" = [])),
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses((status = 200, description = "A page of addresses", body = Page<AddressView>)))]
pub async fn list_addresses(
    State(state): State<AppState>,
    user: AuthUser,
    pagination: Pagination,
) -> ApiResult<Json<Page<AddressView>>> {
    let (count, rows) = addresses::list_addresses(
        &state.db,
        user.id(),
        pagination.offset(),
        pagination.limit(),
    )
    .await?;
    Ok(Json(pagination.page(
        count,
        rows.into_iter().map(AddressView::from).collect(),
    )?))
}

/// Add an address. The first one is the default.
#[utoipa::path(post, path = "/api/auth/addresses/", tag = "accounts", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = AddressRequest,
    responses(
        (status = 201, description = "Created", body = AddressView),
        (status = 400, description = "Invalid field", body = ValidationErrors),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_address(
    State(state): State<AppState>,
    user: AuthUser,
    Form(request): Form<AddressRequest>,
) -> ApiResult<(StatusCode, Json<AddressView>)> {
    let row = addresses::create_address(&state.db, user.id(), request.into()).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// One of the current user's addresses (another user's is a 404).
#[utoipa::path(get, path = "/api/auth/addresses/{id}/", tag = "accounts", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The address", body = AddressView),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn get_address(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
) -> ApiResult<Json<AddressView>> {
    Ok(Json(
        addresses::get_address(&state.db, user.id(), id)
            .await?
            .into(),
    ))
}

/// Change some fields of an address.
#[utoipa::path(patch, path = "/api/auth/addresses/{id}/", tag = "accounts", security(("jwt" = [])),
    params(("id" = i64, Path)),
    request_body = AddressChanges,
    responses(
        (status = 200, description = "The address", body = AddressView),
        (status = 400, description = "Invalid field", body = ValidationErrors),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn update_address(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
    Form(changes): Form<AddressChanges>,
) -> ApiResult<Json<AddressView>> {
    Ok(Json(
        addresses::update_address(&state.db, user.id(), id, changes.into())
            .await?
            .into(),
    ))
}

/// Delete an address.
#[utoipa::path(delete, path = "/api/auth/addresses/{id}/", tag = "accounts", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn delete_address(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    addresses::delete_address(&state.db, user.id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
