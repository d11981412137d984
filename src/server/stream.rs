//! A watch response: the stream of a [`rest::watch::Watch`], polled whenever the cluster
//! changes or one of its timers falls due, until the client goes, the watch times out, or
//! the server stops.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};

use super::{ResponseBody, Server, full};
use crate::rest;
use crate::rest::watch::Watch;

/// How long a watch without `timeoutSeconds` stays open: upstream's `--min-request-timeout`
/// default (upstream draws a random time between it and twice it; evictsim stays
/// deterministic).
const DEFAULT_WATCH_LIFETIME: Duration = Duration::from_secs(1800);

/// How often a watch that asked for bookmarks gets one (upstream: about every minute).
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

struct Open {
    server: Server,
    watch: Watch,
    changed: tokio::sync::watch::Receiver<u64>,
    stopping: tokio::sync::watch::Receiver<bool>,
    ends_at: tokio::time::Instant,
    next_bookmark: tokio::time::Instant,
    done: bool,
}

/// Starts a watch and returns its streaming response (or the error upstream answers
/// before a stream starts).
pub(super) fn open(server: Server, request: &rest::Request) -> http::Response<ResponseBody> {
    let mut state = server.lock();
    let now = state.clock_now(server.shared.clock_mode);
    let started = rest::watch::start(&mut state.cluster, now, request);
    drop(state);
    let watch = match started {
        Ok(watch) => watch,
        Err(error) => return full(rest::error_response(&error)),
    };
    let start = tokio::time::Instant::now();
    let open = Open {
        changed: server.shared.changed.subscribe(),
        stopping: server.shared.stopping.subscribe(),
        // A timeout beyond any clock is a watch without end (until the server stops).
        ends_at: start
            .checked_add(watch.timeout().unwrap_or(DEFAULT_WATCH_LIFETIME))
            .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 86_400)),
        next_bookmark: start + BOOKMARK_INTERVAL,
        server,
        watch,
        done: false,
    };
    let frames = futures_util::stream::unfold(open, next_frames);
    let body = StreamBody::new(frames).boxed_unsync();
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The next chunk of the stream, or `None` at its end.
async fn next_frames(mut open: Open) -> Option<(Result<Frame<Bytes>, Infallible>, Open)> {
    // Each pass either returns frames, ends the stream, or waits for something to happen;
    // every wait is bounded by the watch's end.
    loop {
        if open.done || *open.stopping.borrow() {
            return None;
        }
        open.changed.borrow_and_update();
        let (frames, timer_wait, changed) = {
            let mut state = open.server.lock();
            let now = state.clock_now(open.server.shared.clock_mode);
            let before = (state.cluster.revision(), state.cluster.event_count());
            state.cluster.advance_to(now);
            let changed = before != (state.cluster.revision(), state.cluster.event_count());
            let frames = open.watch.poll(&state.cluster);
            let wait = super::wait_for_timer(&state, open.server.shared.clock_mode, now);
            (frames, wait, changed)
        };
        if changed {
            open.server.notify();
        }
        if open.watch.is_finished() {
            open.done = true;
        }
        if !frames.is_empty() {
            return Some((Ok(Frame::data(Bytes::from(frames))), open));
        }
        if open.done {
            return None;
        }
        let timer = async {
            match timer_wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        let bookmarks = open.watch.wants_bookmarks();
        let wake = tokio::select! {
            _ = open.changed.changed() => Wake::Changed,
            () = timer => Wake::Changed,
            () = tokio::time::sleep_until(open.next_bookmark), if bookmarks => Wake::Bookmark,
            () = tokio::time::sleep_until(open.ends_at) => Wake::TimedOut,
            _ = open.stopping.wait_for(|stopping| *stopping) => Wake::Stopping,
        };
        match wake {
            Wake::Changed => {}
            Wake::Bookmark => {
                open.next_bookmark += BOOKMARK_INTERVAL;
                let frames = bookmark(&mut open);
                return Some((Ok(Frame::data(Bytes::from(frames))), open));
            }
            Wake::TimedOut => {
                // As upstream's watch cache, a watch that asked for bookmarks gets one
                // before it times out, so that it resumes from there.
                open.done = true;
                let frames = bookmark(&mut open);
                if frames.is_empty() {
                    return None;
                }
                return Some((Ok(Frame::data(Bytes::from(frames))), open));
            }
            Wake::Stopping => return None,
        }
    }
}

/// Why a waiting watch woke.
enum Wake {
    /// The cluster changed or a timer fell due: poll.
    Changed,
    /// Time for a bookmark.
    Bookmark,
    /// `timeoutSeconds` passed.
    TimedOut,
    /// The server is stopping.
    Stopping,
}

fn bookmark(open: &mut Open) -> Vec<u8> {
    let mut state = open.server.lock();
    let now = state.clock_now(open.server.shared.clock_mode);
    state.cluster.advance_to(now);
    open.watch.bookmark(&state.cluster)
}
