//! The accept loop and client connections: HTTP/1.1 on the gateway's own
//! connection driver ([`conn`]: header read timeout, head and field caps,
//! unambiguous body framing), HTTP/2 with prior knowledge on hyper's
//! ([`h2`]: stream and header list limits); a connection cap, an idle
//! keep-alive watchdog, accept errors backed off, and graceful shutdown. Several accept loops (one per
//! worker runtime, each on its own `SO_REUSEPORT` listener) may serve one
//! gateway, each within its own connection cap.

mod body;
mod conn;
mod date;
mod guard;
mod h2;
mod request;
mod response;
mod socket;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod stream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::shared::Shared;

/// First and longest pause after a failed `accept` (e.g. out of file
/// descriptors).
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(1));

/// The metrics endpoint ([`Settings::metrics_listen`]) served in the
/// background; it stops when this is dropped.
#[derive(Debug)]
pub struct MetricsEndpoint {
    task: tokio::task::JoinHandle<()>,
    addr: SocketAddr,
}

impl MetricsEndpoint {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds [`Settings::metrics_listen`], if set, and serves metrics there on
/// the current runtime.
pub(crate) async fn spawn_metrics_endpoint(
    shared: &Arc<Shared>,
) -> std::io::Result<Option<MetricsEndpoint>> {
    let Some(addr) = shared.settings.metrics_listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!("metrics on http://{addr}/metrics");
    let task = tokio::spawn(crate::metrics::endpoint::serve(
        Arc::clone(shared),
        listener,
    ));
    Ok(Some(MetricsEndpoint { task, addr }))
}

/// Period of [`TimerTick`]: below the usual per-request timeouts (the
/// route's `timeout`, the client header and body timeouts), above any
/// measurable cost.
const TIMER_TICK: Duration = Duration::from_secs(1);

/// A timer firing every [`TIMER_TICK`] on the accept loop's runtime, so
/// that registering a request's timeouts costs no system call. tokio's
/// timer wheel wakes its driver (an `eventfd` write, then an extra
/// `epoll_wait`) whenever a new timer is due before the driver's planned
/// wake-up; with only the long keep-alive timers in the wheel that was
/// every proxied request (its upstream timeout). With this tick the
/// planned wake-up is never more than a second away. Stops when dropped.
struct TimerTick(tokio::task::JoinHandle<()>);

impl TimerTick {
    fn spawn() -> Self {
        Self(tokio::spawn(async {
            let mut tick = tokio::time::interval(TIMER_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
            }
        }))
    }
}

impl Drop for TimerTick {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Exponential back-off for `accept` failures, reset by a success.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next: ACCEPT_BACKOFF.0,
        }
    }

    fn reset(&mut self) {
        self.next = ACCEPT_BACKOFF.0;
    }

    /// The pause to take now; the next one doubles, up to the maximum.
    fn step(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(ACCEPT_BACKOFF.1);
        now
    }
}

/// Serves `listener` until `shutdown` completes, then lets open
/// connections finish (up to the shutdown timeout); the health checks and
/// the metrics endpoint meanwhile.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let _health = crate::health::spawn(&shared);
    let _metrics = spawn_metrics_endpoint(&shared).await?;
    serve_connections(shared, listener, shutdown).await
}

/// The accept loop: serves `listener`'s clients (up to
/// [`Settings::max_connections`] at once) until `shutdown` completes, then lets the connections
/// this loop opened finish (up to the shutdown timeout).
pub(crate) async fn serve_connections(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let settings = shared.settings.clone();
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Each connection holds a sender; `recv` ends when all are dropped.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let _tick = TimerTick::spawn();
    let mut backoff = Backoff::new();
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap, connections wait in the backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff.reset();
                    accepted
                }
                Err(e) => {
                    let pause = backoff.step();
                    tracing::warn!(
                        "accept failed: {e}; retrying in {} ms (raise the file-descriptor \
                         limit or lower --max-connections if this is EMFILE)",
                        pause.as_millis()
                    );
                    tokio::select! {
                        () = tokio::time::sleep(pause) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let shared = Arc::clone(&shared);
        let stop = stop_rx.clone();
        let open = open_tx.clone();
        let gauge = shared.metrics.as_ref().map(|m| {
            m.client_connections.inc();
            m.client_connections.clone()
        });
        tokio::spawn(async move {
            conn::serve(shared, stream, remote, stop).await;
            if let Some(gauge) = gauge {
                gauge.dec();
            }
            drop(slot);
            drop(open);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_tx);
    let _ = tokio::time::timeout(settings.shutdown_timeout, open_rx.recv()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff::new();
        let steps: Vec<u128> = (0..10).map(|_| b.step().as_millis()).collect();
        assert_eq!(steps, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.step(), Duration::from_millis(5));
    }
}
