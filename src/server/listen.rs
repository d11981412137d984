//! The server on a socket: HTTP/1.1 and HTTP/2 over TCP (hyper), TLS with a bearer token
//! beyond loopback, a kubeconfig for clients, and a clean stop.
//!
//! Loopback is served in plain HTTP without credentials, as kubectl's own tests serve a
//! local API server: nothing but this machine can reach it. Any other address could be
//! reached by others, so there the server makes a self-signed certificate and a random
//! token, writes both into the kubeconfig, and answers a request without the token with a
//! 401 `Status`.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{Clock, Server};
use crate::cluster::Cluster;

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ListenConfig {
    /// The address to listen on; port 0 picks a free port.
    pub address: SocketAddr,
    /// How virtual time moves.
    pub clock: Clock,
    /// TLS and a bearer token even on loopback (beyond loopback they are always on): for
    /// clients that insist on `https`.
    pub tls: bool,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8001),
            clock: Clock::default(),
            tls: false,
        }
    }
}

/// A bound server, ready to [`run`](Listening::run).
pub struct Listening {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    server: Server,
    url: String,
    kubeconfig: String,
    certificate_pem: Option<String>,
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Binds `config.address` and prepares to serve `cluster`.
///
/// # Errors
/// When the address cannot be bound, or (beyond loopback) the certificate cannot be made.
pub async fn serve(cluster: Cluster, config: &ListenConfig) -> io::Result<Listening> {
    let listener = TcpListener::bind(config.address).await?;
    let local = listener.local_addr()?;
    let secure = config.tls || !local.ip().is_loopback();
    // The address clients dial: an unspecified address (0.0.0.0) is reachable at loopback.
    let dial_ip = if local.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        local.ip()
    };
    let dial = SocketAddr::new(dial_ip, local.port());
    let (tls, token, ca_pem) = if secure {
        let token = random_token()?;
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        names.push(dial_ip.to_string());
        names.push(local.ip().to_string());
        names.dedup();
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| io::Error::other(format!("cannot make a certificate: {e}")))?;
        let cert_der = certified.cert.der().clone();
        let key_der = tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(
            certified.signing_key.serialize_der(),
        )
        .map_err(io::Error::other)?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut tls_config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert_der], key_der)
            .map_err(io::Error::other)?;
        tls_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        (
            Some(TlsAcceptor::from(Arc::new(tls_config))),
            Some(token),
            Some(certified.cert.pem()),
        )
    } else {
        (None, None, None)
    };
    let scheme = if secure { "https" } else { "http" };
    let url = format!("{scheme}://{dial}");
    let kubeconfig = kubeconfig(&url, token.as_deref(), ca_pem.as_deref());
    let server = Server::build(cluster, config.clock, token);
    Ok(Listening {
        listener,
        tls,
        server,
        url,
        kubeconfig,
        certificate_pem: ca_pem,
    })
}

fn random_token() -> io::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A kubeconfig whose current context `evictsim` points at `url`.
fn kubeconfig(url: &str, token: Option<&str>, ca_pem: Option<&str>) -> String {
    let mut cluster = format!("    server: {url}\n");
    if let Some(pem) = ca_pem {
        let data = base64::engine::general_purpose::STANDARD.encode(pem);
        cluster.push_str(&format!("    certificate-authority-data: {data}\n"));
    }
    let user = match token {
        Some(token) => format!("  user:\n    token: {token}\n"),
        None => "  user: {}\n".to_string(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: evictsim\n  cluster:\n{cluster}contexts:\n- name: evictsim\n  context:\n    cluster: evictsim\n    user: evictsim\n    namespace: default\ncurrent-context: evictsim\nusers:\n- name: evictsim\n{user}"
    )
}

impl Listening {
    /// The URL clients use, e.g. `http://127.0.0.1:8001`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A kubeconfig (YAML) for this server, context `evictsim`.
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    /// The bearer token clients must send, when the server requires one (TLS).
    pub fn token(&self) -> Option<&str> {
        self.server.shared.token.as_deref()
    }

    /// The PEM of the server's self-signed certificate, when it serves TLS.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The server behind the socket (for in-process access and assertions).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Serves until `stop` completes; then stops accepting, ends open watches, and waits
    /// (at most five seconds) for requests in flight.
    ///
    /// # Errors
    /// When accepting connections fails.
    pub async fn run(self, stop: impl Future<Output = ()>) -> io::Result<()> {
        let Listening {
            listener,
            tls,
            server,
            ..
        } = self;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // A client that never finishes its request headers is cut off after hyper's
        // header-read timeout (30 s) instead of holding its connection for ever.
        builder.http1().timer(hyper_util::rt::TokioTimer::new());
        let driver = tokio::spawn(drive_timers(server.clone()));
        tokio::pin!(stop);
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // A connection that failed before it was accepted (reset, out of file
                    // descriptors) ends only itself.
                    Err(_) => continue,
                },
                () = &mut stop => break,
            };
            // Each response goes out without waiting for the client's delayed ACK.
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(server.clone());
            match &tls {
                None => {
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let connection = graceful.watch(connection);
                    tokio::spawn(connection);
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let builder = builder.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let connection = builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                                .into_owned();
                            let _ = watcher.watch(connection).await;
                        }
                    });
                }
            }
        }
        server.shut_down();
        driver.abort();
        let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
        Ok(())
    }
}

/// Fires timers when due even while no client is asking, so the event log (and the
/// timeline the CLI prints) moves at the pace of the clock.
async fn drive_timers(server: Server) {
    let mut changed = server.shared.changed.subscribe();
    loop {
        changed.borrow_and_update();
        let wait = {
            let mut state = server.lock();
            let now = state.clock_now(server.shared.clock_mode);
            let before = state.cluster.event_count();
            state.cluster.advance_to(now);
            let fired = state.cluster.event_count() != before;
            let wait = super::wait_for_timer(&state, server.shared.clock_mode, now);
            drop(state);
            if fired {
                server.notify();
            }
            wait
        };
        match wait {
            Some(wait) => {
                tokio::select! {
                    _ = changed.changed() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
            None => {
                if changed.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}
