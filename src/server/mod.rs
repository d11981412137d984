//! The simulator as a Kubernetes API server: one [`Server`] value that is a
//! [`tower::Service`] over `http::Request`s, driven by a TCP listener ([`listen`]) or by an
//! in-process client such as kube-rs's `Client::new`.
//!
//! The core stays sans-IO: the server owns the lock around the [`Cluster`] and the clock
//! that maps driver time to virtual time, and calls [`rest::handle`] for every request —
//! the one path every client takes. Timers fire when due because every request and every
//! open watch first advances the cluster to "now"; an open watch also sleeps until the
//! cluster's [`Cluster::next_deadline`], so a watcher sees a kubelet's kill or a
//! controller's reaction at its virtual time, not at the next request.
//!
//! # Examples
//! A paused tokio clock runs 30 virtual seconds in no wall time:
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use evictsim::cluster::Cluster;
//! use evictsim::server::Server;
//! use tower::ServiceExt;
//!
//! let server = Server::new(Cluster::default());
//! tokio::time::sleep(std::time::Duration::from_secs(30)).await;
//! let request = http::Request::get("/readyz").body(String::new()).unwrap();
//! let response = server.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! assert_eq!(server.now(), evictsim::time::SimTime::from_secs(30));
//! # }
//! ```

mod admin;
pub mod listen;
mod stream;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};

use crate::cluster::Cluster;
use crate::error::ApiError;
use crate::rest;
use crate::time::SimTime;

pub use listen::{ListenConfig, Listening, serve};

/// The response body: a whole JSON document, or a watch's stream of events.
pub type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

/// How many store writes the server keeps for watches to resume from (see
/// [`Cluster::keep_watch_history`]); older resourceVersions get 410 `Expired`.
pub const DEFAULT_WATCH_HISTORY: usize = 10_000;

/// How virtual time moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// Virtual time follows tokio's clock (`tokio::time::Instant`) times `speed`: real time
    /// under a normal runtime, and under `#[tokio::test(start_paused = true)]` a clock that
    /// jumps straight to the next sleep, so a drain that waits out 30 s grace periods runs
    /// in milliseconds, deterministically.
    Tokio {
        /// Virtual seconds per tokio second.
        speed: f64,
    },
    /// Virtual time moves only by [`Server::advance`] (or `POST /evictsim/v1/advance`).
    Manual,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::Tokio { speed: 1.0 }
    }
}

/// The simulator behind an HTTP interface. Cheap to clone: clones share the cluster.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("clock", &self.shared.clock_mode)
            .finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    clock_mode: Clock,
    /// Bumped after every change to the cluster: open watches wake and poll.
    changed: tokio::sync::watch::Sender<u64>,
    /// Set when the server shuts down: open watches end.
    stopping: tokio::sync::watch::Sender<bool>,
    /// When set, every request must carry `Authorization: Bearer <token>`.
    token: Option<String>,
}

struct State {
    cluster: Cluster,
    /// Virtual time at `base_instant`.
    base: SimTime,
    base_instant: tokio::time::Instant,
    /// Time added by [`Server::advance`].
    offset: Duration,
}

impl State {
    fn clock_now(&self, mode: Clock) -> SimTime {
        let driven = match mode {
            Clock::Tokio { speed } => {
                let elapsed = self.base_instant.elapsed().as_secs_f64() * speed.max(0.0);
                // A speed so large that virtual time leaves the range stops at its end.
                Duration::try_from_secs_f64(elapsed).unwrap_or(Duration::MAX)
            }
            Clock::Manual => Duration::ZERO,
        };
        let computed = self.base + driven + self.offset;
        computed.max(self.cluster.now())
    }
}

/// How long to sleep on the driver's clock until the next timer, `ahead` of virtual now
/// (rounded up, so that waking finds it due); `None` when virtual time does not follow the
/// driver's clock or the wait is beyond any clock.
fn wait_for_timer(state: &State, mode: Clock, now: SimTime) -> Option<Duration> {
    let Clock::Tokio { speed } = mode else {
        return None;
    };
    let deadline = state.cluster.next_deadline()?;
    let ahead = deadline.at.saturating_duration_since(now);
    let wait = Duration::try_from_secs_f64(ahead.as_secs_f64() / speed).ok()?;
    Some(wait.saturating_add(Duration::from_micros(1)))
}

/// A read guard on the cluster ([`Server::cluster`]).
pub struct ClusterGuard<'a> {
    guard: MutexGuard<'a, State>,
}

impl std::ops::Deref for ClusterGuard<'_> {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.guard.cluster
    }
}

impl Server {
    /// A server around `cluster`, on the default clock (tokio's, at speed 1). Create it
    /// inside the runtime whose clock it should follow: its virtual time starts at the
    /// cluster's `now` at the `tokio::time::Instant` of this call.
    pub fn new(cluster: Cluster) -> Server {
        Server::with_clock(cluster, Clock::default())
    }

    /// A server around `cluster` on `clock`.
    pub fn with_clock(cluster: Cluster, clock: Clock) -> Server {
        Server::build(cluster, clock, None)
    }

    /// A server that answers only requests carrying `Authorization: Bearer <token>`; any
    /// other gets a 401 `Unauthorized` Status.
    pub fn with_token(cluster: Cluster, clock: Clock, token: impl Into<String>) -> Server {
        Server::build(cluster, clock, Some(token.into()))
    }

    pub(crate) fn build(mut cluster: Cluster, clock: Clock, token: Option<String>) -> Server {
        cluster.keep_watch_history(DEFAULT_WATCH_HISTORY);
        let base = cluster.now();
        Server {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    cluster,
                    base,
                    base_instant: tokio::time::Instant::now(),
                    offset: Duration::ZERO,
                }),
                clock_mode: clock,
                changed: tokio::sync::watch::Sender::new(0),
                stopping: tokio::sync::watch::Sender::new(false),
                token,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave the cluster half-changed (every
        // command is all-or-nothing), so a poisoned lock is still usable.
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Read access to the state machine, for assertions. Hold it briefly: requests wait.
    pub fn cluster(&self) -> ClusterGuard<'_> {
        ClusterGuard { guard: self.lock() }
    }

    /// The virtual time now, per the server's clock.
    pub fn now(&self) -> SimTime {
        let state = self.lock();
        state.clock_now(self.shared.clock_mode)
    }

    /// Moves virtual time forward by `by` (in either clock mode) and fires what is due.
    pub fn advance(&self, by: Duration) -> SimTime {
        let mut state = self.lock();
        state.offset = state.offset.saturating_add(by);
        let now = state.clock_now(self.shared.clock_mode);
        state.cluster.advance_to(now);
        drop(state);
        self.notify();
        now
    }

    /// A receiver whose value changes whenever the cluster does (a request wrote, a timer
    /// fired): for drivers that follow the event log as it grows.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// Stops the server's open watches (each ends its stream); later requests are still
    /// answered. [`listen`] calls this on SIGINT or SIGTERM.
    pub fn shut_down(&self) {
        self.shared.stopping.send_replace(true);
    }

    fn notify(&self) {
        self.shared.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Answers one buffered request: the whole of what a non-watch request does.
    fn answer(&self, request: &rest::Request) -> http::Response<Vec<u8>> {
        let mut state = self.lock();
        let now = state.clock_now(self.shared.clock_mode);
        let before = (state.cluster.revision(), state.cluster.event_count());
        let response = rest::handle(&mut state.cluster, now, request);
        let after = (state.cluster.revision(), state.cluster.event_count());
        drop(state);
        if before != after {
            self.notify();
        }
        response
    }

    fn authorized(&self, request: &http::request::Parts) -> bool {
        let Some(token) = &self.shared.token else {
            return true;
        };
        // As upstream's `system:public-info-viewer`: health and version are public.
        if matches!(
            request.uri.path(),
            "/readyz" | "/livez" | "/healthz" | "/version"
        ) {
            return true;
        }
        request
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            // Compared in constant time, so that response times do not leak the token.
            .is_some_and(|given| {
                subtle::ConstantTimeEq::ct_eq(given.trim().as_bytes(), token.as_bytes()).into()
            })
    }

    async fn call_inner<B>(self, request: http::Request<B>) -> http::Response<ResponseBody>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        if !self.authorized(&parts) {
            return full(rest::error_response(&ApiError::Unauthorized));
        }
        let body = match Limited::new(body, rest::MAX_REQUEST_BODY_BYTES)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes().to_vec(),
            Err(_) => {
                return full(rest::error_response(&ApiError::body_too_large(
                    rest::MAX_REQUEST_BODY_BYTES,
                )));
            }
        };
        let request = http::Request::from_parts(parts, body);
        if let Some(response) = admin::answer(&self, &request) {
            return full(response);
        }
        if rest::watch::is_watch(&request) {
            return stream::open(self, &request);
        }
        full(self.answer(&request))
    }
}

fn full(response: http::Response<Vec<u8>>) -> http::Response<ResponseBody> {
    response.map(|body| Full::new(Bytes::from(body)).boxed_unsync())
}

impl<B> tower::Service<http::Request<B>> for Server
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let server = self.clone();
        Box::pin(async move { Ok(server.call_inner(request).await) })
    }
}
