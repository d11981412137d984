//! Commands: `&mut self` and `now`, all-or-nothing. Each family in its own file: objects
//! (create, update, delete, load, restore) and eviction (the eviction subresource and its
//! dry-run check); here, the API's rate limiter, which answers before any of them.

mod eviction;
mod objects;

pub use eviction::{DryRunStore, PdbLookup};
pub(crate) use objects::check_delete_options;

use crate::cluster::{Cluster, EventKind};
use crate::time::SimTime;

impl Cluster {
    /// The API rate limiter's verdict for one request at `now`: `Some(retry_after_seconds)`
    /// when it must be answered 429.
    pub fn rate_limit(&mut self, now: SimTime, method: &str, path: &str) -> Option<u32> {
        self.advance_to(now);
        let bucket = self.rate_limiter.as_mut()?;
        if bucket.try_acquire(now) {
            return None;
        }
        let retry = bucket.limit().retry_after_seconds;
        self.log(EventKind::<&crate::model::ObjectKey>::RateLimited {
            method: method.into(),
            path: path.into(),
        });
        Some(retry)
    }
}
