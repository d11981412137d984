//! An optional API rate limiter that answers like kube-apiserver's max-in-flight and
//! priority-and-fairness filters (`k8s.io/apiserver/pkg/server/filters`, `tooManyRequests`):
//! HTTP 429 with a plain-text body and a `Retry-After` header, not a PDB Status.
//!
//! A simulated request takes no time, so "in flight" has no meaning here; the limiter is a
//! token bucket on the virtual clock instead: `burst` requests at once, refilled at `qps`.

use serde::{Deserialize, Serialize};

use crate::time::SimTime;

/// Limiter settings (scenario key `rateLimit`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Tokens added per virtual second.
    pub qps: f64,
    /// Bucket size: requests allowed at one instant.
    pub burst: u32,
    /// The `Retry-After` value sent (upstream's max-in-flight filter sends 1).
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u32,
}

fn default_retry_after() -> u32 {
    1
}

/// The bucket's state.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    updated: SimTime,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Self {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            updated: SimTime::ZERO,
        }
    }

    /// The settings.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a token at `now`; `false` means answer 429.
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.limit.qps.max(0.0)).min(f64::from(self.limit.burst));
        self.updated = self.updated.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let mut b = TokenBucket::new(RateLimit {
            qps: 1.0,
            burst: 2,
            retry_after_seconds: 1,
        });
        assert!(b.try_acquire(SimTime::ZERO));
        assert!(b.try_acquire(SimTime::ZERO));
        assert!(!b.try_acquire(SimTime::ZERO));
        assert!(!b.try_acquire(SimTime::from_millis(500)));
        assert!(b.try_acquire(SimTime::from_millis(1000)));
    }
}
