//! When a failed delivery is tried again: about 1 min, 5 min, 30 min, 2 h, 5 h and 10 h after
//! the first six failures, then every 12 h, each wait stretched or shrunk by up to a tenth at
//! random so receivers that fail together are not retried together; never later than three
//! days after the delivery was made, when it is given up as `failed`.

use chrono::{DateTime, TimeDelta, Utc};

/// The waits after the first, second, … failure; every later one waits [`LATER_WAIT`].
const WAITS_SECONDS: [i64; 6] = [60, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600];

/// The wait after the seventh failure and every later one.
const LATER_WAIT_SECONDS: i64 = 12 * 3600;

/// How long after its creation a delivery is still tried.
pub const GIVE_UP_AFTER: TimeDelta = TimeDelta::days(3);

/// When to try a delivery made at `created_at` again after its `failures`-th failed attempt at
/// `now`; `None` when that would be past [`GIVE_UP_AFTER`]. `random` picks the jitter.
pub fn next_attempt(
    created_at: DateTime<Utc>,
    failures: i32,
    now: DateTime<Utc>,
    random: u64,
) -> Option<DateTime<Utc>> {
    let index = usize::try_from(failures.max(1) - 1).unwrap_or(0);
    let wait = WAITS_SECONDS
        .get(index)
        .copied()
        .unwrap_or(LATER_WAIT_SECONDS);
    // 90 % to 110 % of the wait, in milliseconds.
    let spread = i64::try_from(random % 201).unwrap_or(100);
    let wait = TimeDelta::milliseconds(wait * (900 + spread));
    let next = now + wait;
    (next <= created_at + GIVE_UP_AFTER).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time") + TimeDelta::hours(hours)
    }

    #[test]
    fn the_waits_are_one_and_five_and_thirty_minutes_then_hours_then_every_twelve() {
        let made = at(0);
        // random 100: no jitter.
        let waits: Vec<i64> = (1..=8)
            .map(|n| {
                (next_attempt(made, n, made, 100).expect("within three days") - made).num_seconds()
            })
            .collect();
        assert_eq!(waits, [60, 300, 1800, 7200, 18_000, 36_000, 43_200, 43_200]);
    }

    #[test]
    fn jitter_stays_within_a_tenth_either_way() {
        let made = at(0);
        let low = next_attempt(made, 2, made, 0).expect("due");
        let high = next_attempt(made, 2, made, 200).expect("due");
        assert_eq!((low - made).num_seconds(), 270);
        assert_eq!((high - made).num_seconds(), 330);
        let wrapped = next_attempt(made, 2, made, 201).expect("due");
        assert_eq!(
            wrapped, low,
            "the random value wraps, it never widens the range"
        );
    }

    #[test]
    fn a_delivery_is_given_up_three_days_after_it_was_made() {
        let made = at(0);
        // The last retry that still fits: 12 h before the deadline exactly.
        assert_eq!(next_attempt(made, 9, at(60), 100), Some(at(72)));
        assert_eq!(next_attempt(made, 9, at(61), 100), None);
        // Following the schedule from the start, the attempts end within three days.
        let mut now = made;
        let mut failures = 0;
        while let Some(next) = next_attempt(made, failures + 1, now, 100) {
            failures += 1;
            now = next;
        }
        assert_eq!(failures, 10, "ten retries after the first attempt");
        assert!(now <= at(72));
    }

    #[test]
    fn nonsense_counts_are_read_as_the_first_failure() {
        let made = at(0);
        assert_eq!(
            next_attempt(made, 0, made, 100),
            Some(made + TimeDelta::minutes(1))
        );
        assert_eq!(
            next_attempt(made, -5, made, 100),
            Some(made + TimeDelta::minutes(1))
        );
    }
}
