//! Vertex AI routes: the access token fetched, cached, evicted on 401, and
//! its failures named once.

use super::*;

/// A throwaway RSA key (the vertex crate's test fixture): signs the JWT the
/// token source sends to the fake token endpoint.
const TEST_KEY: &str =
    include_str!("../../../ai-proxy-vertex/tests/fixtures/throwaway-test-rsa-key.pem");

#[test]
fn vertex_requests_carry_a_fetched_and_cached_access_token() {
    let tokens = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: r#"{"access_token":"ya29.gateway-test","expires_in":3600,"token_type":"Bearer"}"#
            .to_owned(),
    });
    let vertex = Upstream::start(|_| Script::Reply {
        status: 200,
        content_type: "application/json",
        body: openai_json("google/gemini-2.0-flash", 4, 5),
    });
    let account = serde_json::json!({
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "k",
        "private_key": TEST_KEY,
        "client_email": "gw@p.iam.gserviceaccount.com",
        "token_uri": format!("http://{}/token", tokens.addr),
    })
    .to_string();
    let plugin = serde_json::json!({
        "provider": "vertex-ai",
        "auth": {"gcp": {"service_account_json": account}},
        "provider_conf": {"project_id": "my-project", "region": "us-central1"},
        "override": {"endpoint": format!("http://{}", vertex.addr)},
    });
    let config = route("/v1/chat/completions", &format!("ai-proxy: {plugin}"));
    let gw = Gateway::start(&config);
    for _ in 0..2 {
        let reply = post(gw.addr, "/v1/chat/completions", CHAT);
        assert_eq!(reply.status, 200, "{}", reply.body);
        gw.access_log();
    }
    let seen = vertex.requests();
    assert_eq!(
        seen[0].path,
        "/v1beta1/projects/my-project/locations/us-central1/endpoints/openapi/chat/completions"
    );
    assert!(
        seen.iter()
            .all(|s| s.headers["authorization"] == "Bearer ya29.gateway-test")
    );
    // The second request reused the cached token.
    assert_eq!(tokens.requests().len(), 1);
    assert!(
        tokens.requests()[0]
            .body
            .contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
    );
}

#[test]
fn vertex_without_a_service_account_is_a_500_naming_the_fix() {
    let vertex = Upstream::start(|_| Script::Hang);
    let plugin = serde_json::json!({
        "provider": "vertex-ai",
        "auth": {"gcp": {}},
        "provider_conf": {"project_id": "p", "region": "us-central1"},
        "override": {"endpoint": format!("http://{}", vertex.addr)},
    });
    let config = route("/v1/chat/completions", &format!("ai-proxy: {plugin}"));
    let gw = Gateway::start(&config);
    let reply = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 500);
    assert!(
        reply.body.contains("failed to get gcp access token"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("GCP_SERVICE_ACCOUNT"), "{}", reply.body);
    assert!(vertex.requests().is_empty());
}

#[test]
fn a_vertex_401_evicts_the_token_and_the_next_request_fetches_a_new_one() {
    let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&issued);
    let tokens = Upstream::start(move |_| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Script::Reply {
            status: 200,
            content_type: "application/json",
            body: format!(
                r#"{{"access_token":"ya29.token-{n}","expires_in":3600,"token_type":"Bearer"}}"#
            ),
        }
    });
    // The first token was revoked upstream.
    let vertex = Upstream::start(|seen| {
        if seen.headers["authorization"] == "Bearer ya29.token-0" {
            Script::Reply {
                status: 401,
                content_type: "application/json",
                body: r#"{"error":{"code":401,"message":"Request had invalid authentication credentials."}}"#.to_owned(),
            }
        } else {
            Script::Reply {
                status: 200,
                content_type: "application/json",
                body: openai_json("google/gemini-2.0-flash", 4, 5),
            }
        }
    });
    let account = serde_json::json!({
        "type": "service_account",
        "private_key": TEST_KEY,
        "client_email": "gw@p.iam.gserviceaccount.com",
        "token_uri": format!("http://{}/token", tokens.addr),
    })
    .to_string();
    let plugin = serde_json::json!({
        "provider": "vertex-ai",
        "auth": {"gcp": {"service_account_json": account}},
        "provider_conf": {"project_id": "my-project", "region": "us-central1"},
        "override": {"endpoint": format!("http://{}", vertex.addr)},
    });
    let gw = Gateway::start(&route(
        "/v1/chat/completions",
        &format!("ai-proxy: {plugin}"),
    ));
    let refused = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(refused.status, 401, "{}", refused.body);
    gw.access_log();
    let served = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(served.status, 200, "{}", served.body);
    gw.access_log();
    assert_eq!(tokens.requests().len(), 2);
    let used: Vec<_> = vertex
        .requests()
        .iter()
        .map(|s| s.headers["authorization"].clone())
        .collect();
    assert_eq!(used, ["Bearer ya29.token-0", "Bearer ya29.token-1"]);
}

#[test]
fn a_token_fetch_failure_says_failed_to_get_gcp_access_token_once() {
    let vertex = Upstream::start(|_| Script::Hang);
    // Bound then dropped: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let account = serde_json::json!({
        "type": "service_account",
        "private_key": TEST_KEY,
        "client_email": "gw@p.iam.gserviceaccount.com",
        "token_uri": format!("http://127.0.0.1:{port}/token"),
    })
    .to_string();
    let plugin = serde_json::json!({
        "provider": "vertex-ai",
        "auth": {"gcp": {"service_account_json": account}},
        "provider_conf": {"project_id": "p", "region": "us-central1"},
        "override": {"endpoint": format!("http://{}", vertex.addr)},
    });
    let gw = Gateway::start(&route(
        "/v1/chat/completions",
        &format!("ai-proxy: {plugin}"),
    ));
    let reply = post(gw.addr, "/v1/chat/completions", CHAT);
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.body.matches("failed to get gcp access token").count(),
        1,
        "{}",
        reply.body
    );
    assert!(vertex.requests().is_empty());
}
