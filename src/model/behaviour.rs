//! How a simulated pod's containers behave, read from the pod's own annotations so that
//! scenarios stay plain Kubernetes objects (pod templates carry them to the pods they create).
//!
//! | Annotation | Meaning | Default |
//! |---|---|---|
//! | `evictsim.io/startup-seconds` | seconds from scheduling to Running (and Ready) | `2` |
//! | `evictsim.io/never-ready: "true"` | the pod runs but never becomes Ready | not set |
//! | `evictsim.io/prestop-seconds` | the pod has a preStop hook that takes this long | no hook |
//! | `evictsim.io/shutdown-seconds` | seconds the containers take to exit after SIGTERM; `"never"` = they ignore SIGTERM and are killed at the deadline | `1` |
//! | `evictsim.io/exit-code` | the exit code after SIGTERM | `0` |
//!
//! The defaults are those of a typical well-behaved web server: it starts in a couple of
//! seconds, and exits cleanly about a second after SIGTERM.

use std::time::Duration;

use super::meta::StringMap;
use super::selector::FieldErrorKind;
use crate::error::FieldError;

/// `evictsim.io/startup-seconds`.
pub const STARTUP_SECONDS: &str = "evictsim.io/startup-seconds";
/// `evictsim.io/never-ready`.
pub const NEVER_READY: &str = "evictsim.io/never-ready";
/// `evictsim.io/prestop-seconds`.
pub const PRESTOP_SECONDS: &str = "evictsim.io/prestop-seconds";
/// `evictsim.io/shutdown-seconds`.
pub const SHUTDOWN_SECONDS: &str = "evictsim.io/shutdown-seconds";
/// `evictsim.io/exit-code`.
pub const EXIT_CODE: &str = "evictsim.io/exit-code";

/// What the containers do after SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// They exit this long after SIGTERM.
    After(Duration),
    /// They ignore SIGTERM; only SIGKILL stops them.
    Never,
}

/// A pod's simulated container behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    /// Scheduling to Running.
    pub startup: Duration,
    /// Never becomes Ready.
    pub never_ready: bool,
    /// The preStop hook's duration, if the pod has one.
    pub prestop: Option<Duration>,
    /// After SIGTERM.
    pub shutdown: Shutdown,
    /// Exit code after SIGTERM.
    pub exit_code: i32,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            startup: Duration::from_secs(2),
            never_ready: false,
            prestop: None,
            shutdown: Shutdown::After(Duration::from_secs(1)),
            exit_code: 0,
        }
    }
}

fn seconds(text: &str) -> Option<Duration> {
    let value: f64 = text.trim().parse().ok()?;
    (value.is_finite() && (0.0..1e9).contains(&value))
        .then(|| Duration::from_millis((value * 1000.0).round() as u64))
}

impl Behaviour {
    /// Reads the annotations, falling back to the defaults for missing or invalid values
    /// (invalid values are rejected at create time by [`Behaviour::validate`]).
    pub fn of(annotations: &StringMap) -> Behaviour {
        Behaviour::of_with_defaults(annotations, Behaviour::default())
    }

    /// Reads the annotations, falling back to `defaults` (a cluster's
    /// [`ClusterConfig::default_behaviour`](crate::cluster::ClusterConfig::default_behaviour))
    /// for what they do not say.
    pub fn of_with_defaults(annotations: &StringMap, defaults: Behaviour) -> Behaviour {
        let mut b = defaults;
        if let Some(d) = annotations.get(STARTUP_SECONDS).and_then(|v| seconds(v)) {
            b.startup = d;
        }
        if let Some(v) = annotations.get(NEVER_READY) {
            b.never_ready = v == "true";
        }
        if let Some(d) = annotations.get(PRESTOP_SECONDS).and_then(|v| seconds(v)) {
            b.prestop = Some(d);
        }
        match annotations.get(SHUTDOWN_SECONDS).map(String::as_str) {
            Some("never") => b.shutdown = Shutdown::Never,
            Some(v) => {
                if let Some(d) = seconds(v) {
                    b.shutdown = Shutdown::After(d);
                }
            }
            None => {}
        }
        if let Some(code) = annotations
            .get(EXIT_CODE)
            .and_then(|v| v.trim().parse().ok())
        {
            b.exit_code = code;
        }
        b
    }

    /// The problems with the behaviour annotations, as field errors on
    /// `metadata.annotations`.
    pub fn validate(annotations: &StringMap) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut bad = |key: &str, value: &str, detail: &str| {
            errors.push(FieldError {
                kind: FieldErrorKind::Invalid,
                field: format!("metadata.annotations[{key}]"),
                value: Some(super::go_quote(value)),
                detail: detail.into(),
            })
        };
        for key in [STARTUP_SECONDS, PRESTOP_SECONDS] {
            if let Some(v) = annotations.get(key)
                && seconds(v).is_none()
            {
                bad(key, v, "must be a non-negative number of seconds");
            }
        }
        if let Some(v) = annotations.get(SHUTDOWN_SECONDS)
            && v != "never"
            && seconds(v).is_none()
        {
            bad(
                SHUTDOWN_SECONDS,
                v,
                "must be a non-negative number of seconds, or \"never\"",
            );
        }
        if let Some(v) = annotations.get(NEVER_READY)
            && v != "true"
            && v != "false"
        {
            bad(NEVER_READY, v, "must be \"true\" or \"false\"");
        }
        if let Some(v) = annotations.get(EXIT_CODE)
            && !v
                .trim()
                .parse::<i32>()
                .is_ok_and(|c| (0..=255).contains(&c))
        {
            bad(EXIT_CODE, v, "must be an integer from 0 to 255");
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> StringMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn annotations_are_read_with_defaults() {
        assert_eq!(Behaviour::of(&StringMap::new()), Behaviour::default());
        let b = Behaviour::of(&annotations(&[
            (SHUTDOWN_SECONDS, "never"),
            (PRESTOP_SECONDS, "2.5"),
            (EXIT_CODE, "3"),
            (NEVER_READY, "true"),
            (STARTUP_SECONDS, "0"),
        ]));
        assert_eq!(b.shutdown, Shutdown::Never);
        assert_eq!(b.prestop, Some(Duration::from_millis(2500)));
        assert_eq!(
            (b.exit_code, b.never_ready, b.startup),
            (3, true, Duration::ZERO)
        );
    }

    #[test]
    fn invalid_annotations_are_field_errors() {
        let errors = Behaviour::validate(&annotations(&[
            (SHUTDOWN_SECONDS, "soon"),
            (EXIT_CODE, "300"),
            (STARTUP_SECONDS, "-1"),
        ]));
        assert_eq!(errors.len(), 3);
        assert!(errors.iter().any(|e| e.to_string() == "metadata.annotations[evictsim.io/shutdown-seconds]: Invalid value: \"soon\": must be a non-negative number of seconds, or \"never\""));
    }
}
