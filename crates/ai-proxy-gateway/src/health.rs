//! Active health checks: the probes `ai-proxy-multi` describes from each
//! instance's `checks.active`, run on the gateway's runtime, their
//! verdicts reported to the balancer (which applies APISIX's
//! `healthy.successes` / `unhealthy.*_failures` thresholds). A probe runs
//! every `healthy.interval` while its instance is healthy and every
//! `unhealthy.interval` while it is down; a probe that times out or cannot
//! connect counts as a failure, an HTTP status as
//! `healthy.http_statuses` / `unhealthy.http_statuses` say (others give no
//! verdict). Passive health keeps working alongside.

use std::sync::Arc;
use std::time::Instant;

use ai_proxy::multi::{InstanceId, Probe, ProbeKind};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use tokio::task::JoinHandle;

use crate::routes::{MultiRoute, Target};
use crate::shared::Shared;
use crate::upstream::{HttpClient, Key};

/// The running probes; they stop when this is dropped.
#[derive(Debug, Default)]
pub struct HealthChecks {
    tasks: Vec<JoinHandle<()>>,
}

impl HealthChecks {
    /// How many probes run.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no probe runs (no instance has `checks.active`).
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl Drop for HealthChecks {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts one task per probe of every `ai-proxy-multi` route.
pub(crate) fn spawn(inner: &Shared) -> HealthChecks {
    let mut tasks = Vec::new();
    for route in inner.routes.routes() {
        let Target::Multi(multi) = &route.target else {
            continue;
        };
        for (id, probe) in multi.multi.balancer().probes() {
            let key = Key {
                timeout: probe.timeout,
                keepalive: false,
                keepalive_timeout: probe.timeout,
                keepalive_pool: 0,
                ssl_verify: probe.verify_certificate,
            };
            let client = match inner.clients.get(key) {
                Ok(client) => client,
                Err(e) => {
                    tracing::warn!(
                        instance = probe.instance.as_str(),
                        "active health check not started: TLS set-up failed: {e}"
                    );
                    continue;
                }
            };
            tasks.push(tokio::spawn(run(Arc::clone(multi), id, client)));
        }
    }
    HealthChecks { tasks }
}

async fn run(multi: Arc<MultiRoute>, id: InstanceId, client: HttpClient) {
    let balancer = multi.multi.balancer();
    let Some(probe) = balancer.probes().find(|(i, _)| *i == id).map(|(_, p)| p) else {
        return;
    };
    loop {
        let down = balancer
            .health(id, Instant::now())
            .is_some_and(|h| h.active_unhealthy);
        let interval = if down {
            probe.unhealthy.interval
        } else {
            probe.healthy.interval
        };
        tokio::time::sleep(interval).await;
        if let Some(healthy) = verdict(probe, &client).await {
            balancer.report_probe(id, healthy, Instant::now());
        }
    }
}

/// One probe: `Some(healthy)`, or `None` when an HTTP status is in
/// neither list.
async fn verdict(probe: &Probe, client: &HttpClient) -> Option<bool> {
    if probe.kind == ProbeKind::Tcp {
        let connect = tokio::net::TcpStream::connect((probe.host.as_str(), probe.port));
        return Some(matches!(
            tokio::time::timeout(probe.timeout, connect).await,
            Ok(Ok(_))
        ));
    }
    let mut request = Request::new(Full::new(Bytes::new()));
    *request.headers_mut() = probe.header_map();
    match probe.url_with_secrets().expose().parse() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return Some(false),
    }
    match tokio::time::timeout(probe.timeout, client.request(request)).await {
        Ok(Ok(response)) => probe.judge_status(response.status().as_u16()),
        Ok(Err(_)) | Err(_) => Some(false),
    }
}
