//! Request and response types of the accounts endpoints, with their OpenAPI schemas.

use serde::Serialize;
use utoipa::ToSchema;

use super::address;
use super::addresses::AddressInput;
use crate::auth::user;
use crate::http::extract::{Fields, FromFields};

/// Longest first or last name.
const NAME_MAX: usize = 150;

/// `GET /api/auth/me/`: the user as they see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, example = "2026-11-24T10:15:00.000000Z")]
    pub date_joined: chrono::DateTime<chrono::Utc>,
}

impl From<user::Model> for UserView {
    fn from(user: user::Model) -> UserView {
        UserView {
            id: user.id,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            is_staff: user.is_staff,
            date_joined: user.date_joined,
        }
    }
}

/// An access and a refresh token.
#[derive(Serialize, ToSchema)]
pub struct TokenPairView {
    /// Send as `Authorization: Bearer <access>`; lives `EMPORIUM_ACCESS_TTL` (5 minutes).
    pub access: String,
    /// Exchange at `/api/auth/refresh/`; lives `EMPORIUM_REFRESH_TTL` (1 day); single use.
    pub refresh: String,
}

impl From<super::sessions::TokenPair> for TokenPairView {
    fn from(pair: super::sessions::TokenPair) -> TokenPairView {
        TokenPairView {
            access: pair.access,
            refresh: pair.refresh,
        }
    }
}

/// `POST /api/auth/register/`.
#[derive(ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com", format = Email, max_length = 254)]
    pub email: String,
    /// At least 8 characters, not entirely numeric, not common, not like the email.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    #[schema(nullable = false, max_length = 150)]
    pub first_name: Option<String>,
    #[schema(nullable = false, max_length = 150)]
    pub last_name: Option<String>,
}

impl FromFields for RegisterRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let email = fields.required_text("email", 254);
        let password = fields.secret("password");
        let first_name = fields.optional_text("first_name", NAME_MAX);
        let last_name = fields.optional_text("last_name", NAME_MAX);
        Some(RegisterRequest {
            email: email?,
            password: password?,
            first_name,
            last_name,
        })
    }
}

/// `POST /api/auth/login/`.
#[derive(ToSchema)]
pub struct LoginRequest {
    #[schema(
        example = "ada@example.com",
        min_length = 1,
        max_length = 254,
        pattern = r"\S"
    )]
    pub email: String,
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

impl FromFields for LoginRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let email = fields.required_text("email", 254);
        let password = fields.secret("password");
        Some(LoginRequest {
            email: email?,
            password: password?,
        })
    }
}

/// `POST /api/auth/refresh/` and `POST /api/auth/logout/`.
#[derive(ToSchema)]
pub struct RefreshRequest {
    #[schema(min_length = 1, max_length = 1024)]
    pub refresh: String,
}

impl FromFields for RefreshRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        Some(RefreshRequest {
            refresh: fields.secret("refresh")?,
        })
    }
}

/// `PATCH /api/auth/me/`: only the names can change here.
#[derive(Debug, ToSchema)]
pub struct ProfileUpdate {
    #[schema(nullable = false, max_length = 150)]
    pub first_name: Option<String>,
    #[schema(nullable = false, max_length = 150)]
    pub last_name: Option<String>,
}

impl FromFields for ProfileUpdate {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        Some(ProfileUpdate {
            first_name: fields.optional_text("first_name", NAME_MAX),
            last_name: fields.optional_text("last_name", NAME_MAX),
        })
    }
}

/// `POST /api/auth/password/change/`.
#[derive(ToSchema)]
pub struct PasswordChange {
    #[schema(min_length = 1, max_length = 1024)]
    pub old_password: String,
    /// At least 8 characters, not entirely numeric, not common, not like the email or names.
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

impl FromFields for PasswordChange {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let old_password = fields.secret("old_password");
        let new_password = fields.secret("new_password");
        Some(PasswordChange {
            old_password: old_password?,
            new_password: new_password?,
        })
    }
}

/// `POST /api/auth/password/reset/`.
#[derive(Debug, ToSchema)]
pub struct PasswordReset {
    #[schema(example = "ada@example.com", format = Email, max_length = 254)]
    pub email: String,
}

impl FromFields for PasswordReset {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        Some(PasswordReset {
            email: fields.required_text("email", 254)?,
        })
    }
}

/// `POST /api/auth/password/reset/confirm/`.
#[derive(ToSchema)]
pub struct PasswordResetConfirm {
    /// The code from the email.
    #[schema(min_length = 1, max_length = 256, pattern = r"\S")]
    pub token: String,
    /// At least 8 characters, not entirely numeric, not common, not like the email or names.
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

impl FromFields for PasswordResetConfirm {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let token = fields.required_text("token", 256);
        let new_password = fields.secret("new_password");
        Some(PasswordResetConfirm {
            token: token?,
            new_password: new_password?,
        })
    }
}

/// `Debug` for a request that carries secrets: the type name and only the fields named here.
macro_rules! redacted_debug {
    ($($type:ident { $($shown:ident),* }),* $(,)?) => {$(
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($type))
                    $(.field(stringify!($shown), &self.$shown))*
                    .finish_non_exhaustive()
            }
        }
    )*};
}

redacted_debug! {
    TokenPairView {},
    RegisterRequest { email },
    LoginRequest { email },
    RefreshRequest {},
    PasswordChange {},
    PasswordResetConfirm {},
}

/// ISO 3166-1 alpha-2 codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
    BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY \
    CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN \
    GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH \
    KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO \
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL \
    PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV \
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN \
    VU WF WS YE YT ZA ZM ZW";

/// The schema of a country field: one of the codes [`is_country`] accepts (lower case is
/// accepted too, and stored upper-cased).
fn country_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(COUNTRIES.split_whitespace()))
        .examples(["US"])
        .build()
}

/// True for an ISO 3166-1 alpha-2 code (upper case).
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split_whitespace().any(|c| c == code)
}

fn read_address(fields: &mut Fields, partial: bool) -> AddressInput {
    let text = |fields: &mut Fields, name: &str, max: usize| fields.given_text(name, max, partial);
    let full_name = text(fields, "full_name", 150);
    let line1 = text(fields, "line1", 255);
    let city = text(fields, "city", 100);
    let postal_code = text(fields, "postal_code", 20);
    let country = text(fields, "country", 2).map(|c| c.to_ascii_uppercase());
    if let Some(code) = country.as_deref().filter(|code| !is_country(code)) {
        fields.error("country", format!("\"{code}\" is not a valid choice."));
    }
    let line2 = fields.optional_text("line2", 255);
    let state = fields.optional_text("state", 100);
    let phone = fields
        .nullable::<String>("phone")
        .map(|phone| phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()));
    if let Some(Some(phone)) = &phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let plain = phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !plain || !(5..=20).contains(&digits) || phone.len() > 32 {
            fields.error("phone", "Enter a valid phone number.");
        }
    }
    let is_default = fields.optional::<bool>("is_default");
    AddressInput {
        full_name,
        line1,
        line2,
        city,
        state,
        postal_code,
        country,
        phone,
        is_default,
    }
}

/// `POST /api/auth/addresses/`: `full_name`, `line1`, `city`, `postal_code` and `country` are
/// required.
#[derive(Debug, ToSchema)]
pub struct AddressRequest {
    #[schema(min_length = 1, max_length = 150, pattern = r"\S")]
    pub full_name: String,
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub line1: String,
    #[schema(nullable = false, max_length = 255)]
    pub line2: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub city: String,
    #[schema(nullable = false, max_length = 100)]
    pub state: Option<String>,
    #[schema(min_length = 1, max_length = 20, pattern = r"\S")]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `"US"`.
    #[schema(schema_with = country_schema)]
    pub country: String,
    /// Digits with optional `+`, spaces, hyphens, dots and brackets; 5 to 20 digits.
    #[schema(pattern = r"^\+?[0-9]{5,20}$", example = "+15550100")]
    pub phone: Option<String>,
    /// Making one address the default unsets the previous default.
    #[schema(nullable = false)]
    pub is_default: Option<bool>,
}

/// `PATCH /api/auth/addresses/{id}/`: any of the fields, none of them blank; `phone` may be
/// null (removed).
#[derive(Debug, ToSchema)]
pub struct AddressChanges {
    #[schema(nullable = false, min_length = 1, max_length = 150, pattern = r"\S")]
    pub full_name: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 255, pattern = r"\S")]
    pub line1: Option<String>,
    #[schema(nullable = false, max_length = 255)]
    pub line2: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    pub city: Option<String>,
    #[schema(nullable = false, max_length = 100)]
    pub state: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 20, pattern = r"\S")]
    pub postal_code: Option<String>,
    #[schema(schema_with = country_schema)]
    pub country: Option<String>,
    #[schema(pattern = r"^\+?[0-9]{5,20}$", example = "+15550100")]
    pub phone: Option<Option<String>>,
    #[schema(nullable = false)]
    pub is_default: Option<bool>,
}

impl FromFields for AddressRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_address(fields, false);
        Some(AddressRequest {
            full_name: input.full_name?,
            line1: input.line1?,
            line2: input.line2,
            city: input.city?,
            state: input.state,
            postal_code: input.postal_code?,
            country: input.country?,
            phone: input.phone.flatten(),
            is_default: input.is_default,
        })
    }
}

impl From<AddressRequest> for AddressInput {
    fn from(r: AddressRequest) -> AddressInput {
        AddressInput {
            full_name: Some(r.full_name),
            line1: Some(r.line1),
            line2: r.line2,
            city: Some(r.city),
            state: r.state,
            postal_code: Some(r.postal_code),
            country: Some(r.country),
            phone: Some(r.phone),
            is_default: r.is_default,
        }
    }
}

impl FromFields for AddressChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_address(fields, true);
        Some(AddressChanges {
            full_name: input.full_name,
            line1: input.line1,
            line2: input.line2,
            city: input.city,
            state: input.state,
            postal_code: input.postal_code,
            country: input.country,
            phone: input.phone,
            is_default: input.is_default,
        })
    }
}

impl From<AddressChanges> for AddressInput {
    fn from(c: AddressChanges) -> AddressInput {
        AddressInput {
            full_name: c.full_name,
            line1: c.line1,
            line2: c.line2,
            city: c.city,
            state: c.state,
            postal_code: c.postal_code,
            country: c.country,
            phone: c.phone,
            is_default: c.is_default,
        }
    }
}

/// A shipping address.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    pub id: i64,
    pub full_name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub is_default: bool,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<address::Model> for AddressView {
    fn from(a: address::Model) -> AddressView {
        AddressView {
            id: a.id,
            full_name: a.full_name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
            is_default: a.is_default,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}
