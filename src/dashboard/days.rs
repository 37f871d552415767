//! The shop's days (`EMPORIUM_TIME_ZONE`): where each of the last days began and ended, as
//! instants, for the overview's figures.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant day `date` begins in `tz`. A day whose midnight does not exist (a clock moved
/// forward at midnight) begins at the first instant after the gap; an ambiguous midnight
/// (moved back) at the earlier one.
pub fn start_of(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight).earliest() {
        Some(at) => at.with_timezone(&Utc),
        None => (1..=180)
            .find_map(|minutes| {
                let later = midnight + chrono::TimeDelta::minutes(minutes);
                tz.from_local_datetime(&later).earliest()
            })
            .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc)),
    }
}

/// The last `count` days up to and including today in `tz`: their dates, and `count + 1`
/// bounds (day `i` is `[bounds[i], bounds[i + 1])`; the last bound is tomorrow's start).
pub fn last_days(tz: Tz, now: DateTime<Utc>, count: u32) -> (Vec<NaiveDate>, Vec<DateTime<Utc>>) {
    let today = now.with_timezone(&tz).date_naive();
    let first = today
        .checked_sub_days(Days::new(u64::from(count.saturating_sub(1))))
        .unwrap_or(today);
    let dates: Vec<NaiveDate> = first.iter_days().take(count as usize).collect();
    let mut bounds: Vec<DateTime<Utc>> = dates.iter().map(|d| start_of(tz, *d)).collect();
    let tomorrow = today.succ_opt().unwrap_or(today);
    bounds.push(start_of(tz, tomorrow));
    (dates, bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn today_is_the_shop_s_today() {
        // 23:30 UTC on 6 December is already 7 December in Berlin (UTC+1).
        let (dates, bounds) = last_days(chrono_tz::Europe::Berlin, at("2026-12-06T23:30:00Z"), 2);
        assert_eq!(
            dates,
            vec![
                NaiveDate::from_ymd_opt(2026, 12, 6).expect("date"),
                NaiveDate::from_ymd_opt(2026, 12, 7).expect("date"),
            ]
        );
        assert_eq!(
            bounds,
            vec![
                at("2026-12-05T23:00:00Z"),
                at("2026-12-06T23:00:00Z"),
                at("2026-12-07T23:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_day_with_a_clock_change_is_23_or_25_hours() {
        // Berlin moved to summer time on 29 March 2026 (02:00 → 03:00).
        let (_, bounds) = last_days(chrono_tz::Europe::Berlin, at("2026-03-29T12:00:00Z"), 1);
        assert_eq!(bounds[1] - bounds[0], chrono::TimeDelta::hours(23));
        let (_, bounds) = last_days(chrono_tz::Europe::Berlin, at("2026-10-25T12:00:00Z"), 1);
        assert_eq!(bounds[1] - bounds[0], chrono::TimeDelta::hours(25));
    }

    #[test]
    fn a_missing_midnight_begins_the_day_after_the_gap() {
        // Santiago moved its clocks forward at midnight on 6 September 2026: 00:00 → 01:00.
        let start = start_of(
            chrono_tz::America::Santiago,
            NaiveDate::from_ymd_opt(2026, 9, 6).expect("date"),
        );
        assert_eq!(start, at("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn thirty_days_end_tomorrow_at_midnight() {
        let (dates, bounds) = last_days(Tz::UTC, at("2026-12-07T10:00:00Z"), 30);
        assert_eq!(dates.len(), 30);
        assert_eq!(bounds.len(), 31);
        assert_eq!(bounds[0], at("2026-11-08T00:00:00Z"));
        assert_eq!(bounds[30], at("2026-12-08T00:00:00Z"));
    }
}
