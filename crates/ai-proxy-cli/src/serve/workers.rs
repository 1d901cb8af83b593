//! nginx's process model in threads: one worker per core, each a
//! current-thread runtime with its own listening socket on the shared
//! address (`SO_REUSEPORT`: the kernel spreads new connections across
//! them) and its own upstream pools, so a request is read, proxied and
//! answered on one thread without waking another. What is shared (routes,
//! balancer, limiter counters, metrics, the access log) stays behind the
//! gateway's `Arc`.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use ai_proxy_gateway::Gateway;
use tokio::net::TcpSocket;
use tokio::sync::watch;

/// Listen backlog per socket (what `tokio::net::TcpListener::bind` uses).
const BACKLOG: u32 = 1024;

/// How many workers to run: `--workers`, or one per CPU this process may
/// use; never more than `--max-connections` (each needs a slot of its own).
pub(crate) fn count(workers: Option<u16>, max_connections: Option<u32>) -> usize {
    let wanted = workers.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        usize::from,
    );
    let cap = max_connections.map_or(usize::MAX, |max| usize::try_from(max).unwrap_or(usize::MAX));
    wanted.clamp(1, cap.max(1))
}

/// `count` listening sockets on `addr` (on port 0, the port the first
/// one got), with `SO_REUSEPORT` when there are several. Needs a runtime
/// context; the sockets come back unregistered, for each worker's own.
pub(crate) fn listeners(
    addr: SocketAddr,
    count: usize,
) -> std::io::Result<Vec<std::net::TcpListener>> {
    let mut addr = addr;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        if count > 1 {
            socket.set_reuseport(true)?;
        }
        socket.bind(addr)?;
        let listener = socket.listen(BACKLOG)?;
        addr = listener.local_addr()?;
        out.push(listener.into_std()?);
    }
    Ok(out)
}

/// Running workers; [`Workers::join`] waits for them after a stop.
pub(crate) struct Workers {
    threads: Vec<JoinHandle<Result<(), String>>>,
    /// Closed once every worker has returned; a message when one returns.
    exited: tokio::sync::mpsc::UnboundedReceiver<()>,
}

impl Workers {
    /// Starts one worker thread per listener, each serving `gateway`'s
    /// clients until `stop` turns true.
    pub(crate) fn start(
        gateway: &Gateway,
        listeners: Vec<std::net::TcpListener>,
        stop: &watch::Receiver<bool>,
    ) -> Result<Self, String> {
        let mut threads = Vec::with_capacity(listeners.len());
        let (exit_tx, exited) = tokio::sync::mpsc::unbounded_channel();
        for (i, listener) in listeners.into_iter().enumerate() {
            let gateway = gateway.clone();
            let mut stop = stop.clone();
            let exit = exit_tx.clone();
            let thread = std::thread::Builder::new()
                .name(format!("ai-proxy-worker-{i}"))
                .spawn(move || {
                    // Tells the main thread, however this worker ends.
                    let _exit = ExitSignal(exit);
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| format!("cannot start worker {i}'s runtime: {e}"))?;
                    runtime.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)
                            .map_err(|e| format!("worker {i} cannot listen: {e}"))?;
                        let stopped = async move {
                            let _ = stop.wait_for(|stopped| *stopped).await;
                        };
                        gateway
                            .serve_connections(listener, stopped)
                            .await
                            .map_err(|e| format!("worker {i} failed: {e}"))
                    })
                })
                .map_err(|e| format!("cannot start worker thread {i}: {e}"))?;
            threads.push(thread);
        }
        Ok(Self { threads, exited })
    }

    /// Completes when a worker has returned (before a stop, a failure to
    /// report).
    pub(crate) async fn any_exited(&mut self) {
        let _ = self.exited.recv().await;
    }

    /// Waits for every worker to finish; the first failure, if any.
    pub(crate) fn join(self) -> Result<(), String> {
        let mut outcome = Ok(());
        for thread in self.threads {
            let result = thread
                .join()
                .unwrap_or_else(|_| Err("a worker thread panicked".to_owned()));
            if outcome.is_ok() {
                outcome = result;
            }
        }
        outcome
    }
}

/// Sent when dropped: a worker thread ended (returned or panicked).
struct ExitSignal(tokio::sync::mpsc::UnboundedSender<()>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_workers_than_connection_slots() {
        assert_eq!(count(Some(4), Some(1)), 1);
        assert_eq!(count(Some(4), Some(3)), 3);
        assert_eq!(count(Some(2), None), 2);
        assert!(count(None, None) >= 1);
    }

    #[tokio::test]
    async fn workers_listen_on_one_port_even_when_asked_for_port_zero() {
        let sockets = listeners(SocketAddr::from(([127, 0, 0, 1], 0)), 3).unwrap();
        let ports: Vec<u16> = sockets
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        assert_eq!(ports.len(), 3);
        assert_ne!(ports[0], 0);
        assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    }
}
