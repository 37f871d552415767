//! Timestamps: UTC everywhere, microsecond precision (what every engine stores), RFC 3339 with
//! a `Z` on the wire, e.g. `2026-11-24T10:15:00.123456Z`.

use chrono::{DateTime, SubsecRound, Utc};

/// The current time, truncated to microseconds so it survives a database round trip unchanged.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Formats a timestamp the way the API returns it.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// `#[serde(serialize_with = "crate::time::serialize")]` for `DateTime<Utc>` fields.
pub fn serialize<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*at))
}

/// The same for `Option<DateTime<Utc>>` fields (null when absent).
pub fn serialize_option<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_rfc3339_utc_with_z() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 24, 10, 15, 0)
            .single()
            .expect("valid date");
        assert_eq!(rfc3339(at), "2026-11-24T10:15:00.000000Z");
        let parsed = DateTime::parse_from_rfc3339(&rfc3339(now())).expect("parses back");
        assert_eq!(parsed.offset().local_minus_utc(), 0);
    }

    #[test]
    fn now_has_microsecond_precision() {
        assert_eq!(now().timestamp_subsec_nanos() % 1000, 0);
    }
}
