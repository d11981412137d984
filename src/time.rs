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

/// A Kubernetes `metav1.Time`: a UTC wall-clock instant at whole seconds, serialized as
/// RFC 3339 (`2025-01-01T00:00:00Z`). Sub-second input is truncated, as upstream does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(jiff::Timestamp);

impl Time {
    /// The instant `seconds` after the Unix epoch.
    ///
    /// # Errors
    /// When the instant is outside the range an RFC 3339 timestamp can name.
    pub fn from_unix_seconds(seconds: i64) -> Result<Time, String> {
        jiff::Timestamp::from_second(seconds)
            .map(Time)
            .map_err(|e| e.to_string())
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.as_second()
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

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
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
        Time(jiff::Timestamp::from_second(millis.div_euclid(1000)).unwrap_or(jiff::Timestamp::MAX))
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
pub const DEFAULT_START: Time = Time(jiff::Timestamp::constant(1_735_689_600, 0));

#[cfg(test)]
mod tests {
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
}
