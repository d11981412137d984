//! Virtual time.
//!
//! The simulation never reads a clock. [`SimTime`] is the number of milliseconds since the
//! simulation's epoch; the wall-clock time Kubernetes objects carry is `epoch + elapsed`,
//! rendered by [`WallClock`] at whole seconds, as the API server persists every `metav1.Time`
//! (rule E44a).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point on the simulation's virtual clock: milliseconds since its epoch.
///
/// # Examples
/// ```
/// use evictsim::time::SimTime;
/// use std::time::Duration;
/// let t = SimTime::ZERO + Duration::from_secs(90);
/// assert_eq!(t.as_millis(), 90_000);
/// assert!(t > SimTime::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(u64);

impl SimTime {
    /// The simulation's epoch.
    pub const ZERO: SimTime = SimTime(0);

    /// A time `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        SimTime(millis)
    }

    /// A time `seconds` seconds after the epoch.
    pub const fn from_secs(seconds: u64) -> Self {
        SimTime(seconds * 1000)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: SimTime) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Serialize for SimTime {
    /// As milliseconds since the epoch.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl std::ops::Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: Duration) -> SimTime {
        let millis = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        SimTime(self.0.saturating_add(millis))
    }
}

impl fmt::Display for SimTime {
    /// Renders as elapsed time, `+1m30.5s` style.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total_ms = self.0;
        let (h, rem) = (total_ms / 3_600_000, total_ms % 3_600_000);
        let (m, rem) = (rem / 60_000, rem % 60_000);
        let (s, ms) = (rem / 1000, rem % 1000);
        write!(f, "+")?;
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if h > 0 || m > 0 {
            write!(f, "{m}m")?;
        }
        if ms > 0 {
            write!(f, "{s}.{ms:03}s")
        } else {
            write!(f, "{s}s")
        }
    }
}

/// Parses a Go-style duration such as `"500ms"`, `"30s"`, `"2m"` or `"1h30m"`, as scenario
/// files and kubectl flags write them.
///
/// # Errors
/// A message naming what could not be understood.
///
/// # Examples
/// ```
/// use evictsim::time::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    if trimmed.starts_with('-') {
        return Err(format!(
            "invalid duration {text:?}: time never goes backwards"
        ));
    }
    humantime::parse_duration(trimmed).map_err(|e| format!("invalid duration {text:?}: {e}"))
}

/// Formats a duration as Go's `time.Duration.String` does (`20s`, `1m30s`, `1h0m0s`,
/// `1.5s`, `500ms`, `0s`), as kubectl prints its timeouts.
///
/// # Examples
/// ```
/// use evictsim::time::go_duration;
/// use std::time::Duration;
/// assert_eq!(go_duration(Duration::from_secs(20)), "20s");
/// assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
/// assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
/// assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
/// assert_eq!(go_duration(Duration::ZERO), "0s");
/// ```
pub fn go_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_string();
    }
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let (hours, rest) = (millis / 3_600_000, millis % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, fraction) = (rest / 1000, rest % 1000);
    let mut text = String::new();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    if fraction == 0 {
        text.push_str(&format!("{seconds}s"));
    } else {
        let digits = format!("{fraction:03}");
        text.push_str(&format!("{seconds}.{}s", digits.trim_end_matches('0')));
    }
    text
}

/// A Kubernetes `metav1.Time`: a UTC wall-clock instant at whole seconds, serialized as
/// RFC 3339 (`2025-01-01T00:00:00Z`). Sub-second input is truncated, as upstream does.
///
/// Held as its seconds with the sign bit flipped, which is never zero in the range a
/// timestamp can name: an `Option<Time>` is then eight bytes, not twenty-four, and every
/// object carries two or three of them (metadata, conditions).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Time(std::num::NonZeroI64);

impl Time {
    /// The instant `seconds` after the Unix epoch.
    ///
    /// # Errors
    /// When the instant is outside the range an RFC 3339 timestamp can name.
    pub fn from_unix_seconds(seconds: i64) -> Result<Time, String> {
        let checked = jiff::Timestamp::from_second(seconds).map_err(|e| e.to_string())?;
        Ok(Time::of_seconds(checked.as_second()))
    }

    /// The instant `seconds` after the epoch, which jiff's range holds.
    pub(crate) const fn of_seconds(seconds: i64) -> Time {
        // jiff's range is a few hundred billion seconds either side of the epoch, so the
        // flipped value is never zero; the fallback is never taken.
        match std::num::NonZeroI64::new(seconds ^ i64::MIN) {
            Some(flipped) => Time(flipped),
            None => Time(std::num::NonZeroI64::MAX),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.get() ^ i64::MIN
    }

    /// The instant as jiff's type, for formatting what the direct formatter does not.
    fn timestamp(self) -> jiff::Timestamp {
        jiff::Timestamp::from_second(self.unix_seconds()).unwrap_or(jiff::Timestamp::MAX)
    }

    /// This instant moved by `seconds` (which may be negative), saturating at the ends of
    /// the representable range.
    pub fn plus_seconds(self, seconds: i64) -> Time {
        let target = self.unix_seconds().saturating_add(seconds);
        let bounded = target.clamp(
            jiff::Timestamp::MIN.as_second() + 1,
            jiff::Timestamp::MAX.as_second() - 1,
        );
        match Time::from_unix_seconds(bounded) {
            Ok(t) => t,
            Err(_) => self,
        }
    }

    /// Parses RFC 3339, truncating to whole seconds.
    ///
    /// # Errors
    /// A message naming the text that is not an RFC 3339 time.
    ///
    /// # Examples
    /// ```
    /// use evictsim::time::Time;
    /// let t = Time::parse("2025-01-01T00:00:01.900Z").unwrap();
    /// assert_eq!(t.to_string(), "2025-01-01T00:00:01Z");
    /// ```
    pub fn parse(text: &str) -> Result<Time, String> {
        let ts: jiff::Timestamp = text
            .parse()
            .map_err(|e| format!("invalid RFC 3339 time {text:?}: {e}"))?;
        Time::from_unix_seconds(ts.as_second())
    }
}

impl Time {
    /// `YYYY-MM-DDTHH:MM:SSZ` for years 0–9999, computed directly (every object carries a
    /// timestamp or more, and a formatter costs ten times as much); `None` before year 0,
    /// which jiff formats.
    pub(crate) fn rfc3339(self) -> Option<[u8; 20]> {
        let seconds = self.unix_seconds();
        let (days, in_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar), by eras
        // of 400 years.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        if !(0..=9_999).contains(&year) {
            return None;
        }
        let mut text = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, value: i64, digits: usize| {
            let mut value = value;
            for i in (0..digits).rev() {
                text[at + i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, year, 4);
        put(5, month, 2);
        put(8, day, 2);
        put(11, in_day / 3_600, 2);
        put(14, in_day / 60 % 60, 2);
        put(17, in_day % 60, 2);
        Some(text)
    }
}

impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.unix_seconds().cmp(&other.unix_seconds())
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Time").field(&self.timestamp()).finish()
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rfc3339() {
            // ASCII digits and separators only.
            Some(text) => f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?),
            None => write!(f, "{}", self.timestamp().strftime("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339() {
            Some(text) => serializer
                .serialize_str(std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?),
            None => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Time::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Maps virtual time to the wall-clock time objects carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    epoch_millis: i64,
}

impl WallClock {
    /// A clock whose virtual time zero is `start`.
    pub fn new(start: Time) -> Self {
        WallClock {
            epoch_millis: start.unix_seconds().saturating_mul(1000),
        }
    }

    /// The wall-clock time at `now`, truncated to whole seconds.
    pub fn at(&self, now: SimTime) -> Time {
        let millis = self
            .epoch_millis
            .saturating_add(i64::try_from(now.as_millis()).unwrap_or(i64::MAX));
        let checked =
            jiff::Timestamp::from_second(millis.div_euclid(1000)).unwrap_or(jiff::Timestamp::MAX);
        Time::of_seconds(checked.as_second())
    }

    /// The earliest virtual time whose wall-clock time is at or after `wall`
    /// (zero when `wall` is before the epoch).
    pub fn sim_time_of(&self, wall: Time) -> SimTime {
        let millis = wall.unix_seconds().saturating_mul(1000) - self.epoch_millis;
        SimTime::from_millis(u64::try_from(millis).unwrap_or(0))
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::new(DEFAULT_START)
    }
}

/// The default wall-clock time at virtual time zero: 2025-01-01T00:00:00Z.
pub const DEFAULT_START: Time = Time::of_seconds(1_735_689_600);

#[cfg(test)]
mod tests {
    /// The direct RFC 3339 formatter writes what jiff's `strftime` does, across leap years,
    /// century rules, the ends of days and months, and the edges of the four-digit range.
    #[test]
    fn rfc3339_matches_jiff() {
        let jiff_text = |t: Time| t.timestamp().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut seconds: Vec<i64> = vec![
            0,
            -1,
            86_399,
            86_400,
            951_782_400,   // 2000-02-29
            4_107_542_399, // 2100-02-28T23:59:59
            4_107_542_400,
            -62_167_219_200, // 0000-01-01
            253_402_207_200, // the latest instant jiff represents, in 9999-12-31
        ];
        // Every 7,777,777 s (about 90 days, so every month and weekday) from year 0 to 9999.
        let mut t = -62_167_219_200i64;
        while t + 86_399 <= 253_402_207_200 {
            seconds.push(t);
            seconds.push(t + 86_399);
            t += 7_777_777;
        }
        for s in seconds {
            let time = Time::from_unix_seconds(s).unwrap();
            assert_eq!(time.to_string(), jiff_text(time), "{s}");
            assert_eq!(
                serde_json::to_string(&time).unwrap(),
                format!("\"{}\"", jiff_text(time))
            );
        }
        // Before year 0, jiff's own text.
        let early = Time::from_unix_seconds(-62_167_219_201).unwrap();
        assert_eq!(early.to_string(), jiff_text(early));
    }
    use super::*;

    #[test]
    fn wall_clock_truncates_to_seconds_e44a() {
        let clock = WallClock::default();
        assert_eq!(
            clock.at(SimTime::from_millis(1999)).to_string(),
            "2025-01-01T00:00:01Z"
        );
        assert_eq!(
            clock.sim_time_of(clock.at(SimTime::from_secs(7))),
            SimTime::from_secs(7)
        );
    }

    #[test]
    fn durations_parse_go_style() {
        for (text, ms) in [
            ("500ms", 500),
            ("30s", 30_000),
            ("2m", 120_000),
            ("1h30m", 5_400_000),
        ] {
            assert_eq!(parse_duration(text).unwrap().as_millis(), ms, "{text}");
        }
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sim_time_displays_elapsed() {
        assert_eq!(SimTime::from_millis(90_500).to_string(), "+1m30.500s");
        assert_eq!(SimTime::ZERO.to_string(), "+0s");
    }

    use proptest::prelude::*;

    proptest! {
        /// Times order, compare and hash as their seconds do, across the whole range (the
        /// epoch, before it, the ends), and give their seconds back.
        #[test]
        fn times_are_their_seconds(
            a in jiff::Timestamp::MIN.as_second() + 1..jiff::Timestamp::MAX.as_second(),
            b in prop_oneof![
                Just(0i64),
                Just(-1i64),
                Just(jiff::Timestamp::MIN.as_second() + 1),
                Just(jiff::Timestamp::MAX.as_second() - 1),
                -100i64..100,
            ],
        ) {
            for (x, y) in [(a, b), (b, a), (a, a), (b, b)] {
                let (tx, ty) = (Time::from_unix_seconds(x).unwrap(), Time::from_unix_seconds(y).unwrap());
                prop_assert_eq!(tx.unix_seconds(), x);
                prop_assert_eq!(tx.cmp(&ty), x.cmp(&y));
                prop_assert_eq!(tx == ty, x == y);
            }
        }
    }

    #[test]
    fn an_absent_time_costs_nothing_beside_a_present_one() {
        assert_eq!(
            std::mem::size_of::<Option<Time>>(),
            std::mem::size_of::<i64>()
        );
        assert_eq!(format!("{:?}", DEFAULT_START), "Time(2025-01-01T00:00:00Z)");
    }
}
