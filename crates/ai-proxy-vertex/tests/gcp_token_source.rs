//! `GcpTokenSource` against a fake Google token endpoint on 127.0.0.1 (no
//! network): the JWT-bearer request it sends, the token it returns, and the
//! cache in front of it with a hand-advanced clock.
#![cfg(feature = "gcp-auth")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_proxy_core::Secret;
use ai_proxy_core::config::GcpAuth;
use ai_proxy_vertex::gcp::{DEFAULT_SCOPE, GcpTokenSource};
use ai_proxy_vertex::{TokenCache, VertexError};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY_PEM: &str = include_str!("fixtures/throwaway-test-rsa-key.pem");
const CLIENT_EMAIL: &str = "proxy@test-project.iam.gserviceaccount.com";

/// One request the fake endpoint received.
#[derive(Clone, Debug)]
struct Seen {
    request_line: String,
    content_type: Option<String>,
    form: Vec<(String, String)>,
}

/// A token endpoint answering every request with `status` and `body`
/// (`{n}` in the body is replaced by the request's sequence number).
struct FakeTokenEndpoint {
    uri: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    hits: Arc<AtomicUsize>,
}

impl FakeTokenEndpoint {
    async fn start(status: u16, body: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/token", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (seen2, hits2) = (Arc::clone(&seen), Arc::clone(&hits));
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (seen, hits) = (Arc::clone(&seen2), Arc::clone(&hits2));
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
                    seen.lock().unwrap().push(request);
                    let body = body.replace("{n}", &n.to_string());
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { uri, seen, hits }
    }

    fn service_account(&self) -> Secret {
        self.service_account_with("")
    }

    fn service_account_with(&self, extra: &str) -> Secret {
        let json = serde_json::json!({
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": "0123456789abcdef",
            "private_key": KEY_PEM,
            "client_email": CLIENT_EMAIL,
            "client_id": "1234567890",
            "token_uri": self.uri,
        });
        let mut text = json.to_string();
        if !extra.is_empty() {
            text.pop();
            text.push(',');
            text.push_str(extra);
            text.push('}');
        }
        Secret::new(text)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let header = |name: &str| {
        head.split("\r\n").find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let form = url::form_urlencoded::parse(&buf[head_end..head_end + length])
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Some(Seen {
        request_line,
        content_type: header("content-type"),
        form,
    })
}

fn form_value<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.form
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

/// The JWT's header and claims, after checking its RS256 signature against
/// the public half of the throwaway key.
fn verified_jwt(jwt: &str) -> (serde_json::Value, serde_json::Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).unwrap();
    let pem_body: String = KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let pkcs8 = STANDARD.decode(pem_body).unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(&pkcs8).unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        key.public().as_ref().to_vec(),
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    public
        .verify(signed.as_bytes(), &decode(parts[2]))
        .expect("JWT signed by the service account key");
    (
        serde_json::from_slice(&decode(parts[0])).unwrap(),
        serde_json::from_slice(&decode(parts[1])).unwrap(),
    )
}

#[tokio::test]
async fn fetch_exchanges_a_signed_jwt_for_a_token() {
    let endpoint = FakeTokenEndpoint::start(
        200,
        r#"{"access_token":"ya29.fake-{n}","expires_in":3599,"token_type":"Bearer"}"#,
    )
    .await;
    let source = GcpTokenSource::new(endpoint.service_account()).unwrap();

    let fetched = source.fetch().await.unwrap();
    assert_eq!(fetched.token.expose(), "ya29.fake-1");
    let expires_in = fetched.expires_in.unwrap();
    assert!(
        expires_in <= Duration::from_secs(3599) && expires_in > Duration::from_secs(3590),
        "{expires_in:?}"
    );

    let seen = endpoint.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, "POST /token HTTP/1.1");
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        form_value(&seen[0], "grant_type"),
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );

    let (header, claims) = verified_jwt(form_value(&seen[0], "assertion"));
    assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(claims["aud"], endpoint.uri.as_str());
    assert_eq!(claims["scope"], DEFAULT_SCOPE);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 3600, "iat {iat} exp {exp}");
}

#[tokio::test]
async fn the_key_files_scope_list_is_asked_for_joined_by_spaces() {
    let endpoint = FakeTokenEndpoint::start(200, r#"{"access_token":"t","expires_in":60}"#).await;
    let sa =
        endpoint.service_account_with(r#""scope":["https://a.example/x","https://a.example/y"]"#);
    GcpTokenSource::new(sa).unwrap().fetch().await.unwrap();
    let (_, claims) = verified_jwt(form_value(&endpoint.seen()[0], "assertion"));
    assert_eq!(claims["scope"], "https://a.example/x https://a.example/y");
}

#[tokio::test]
async fn cached_tokens_are_reused_until_the_ttl_rule_says_refresh() {
    let endpoint =
        FakeTokenEndpoint::start(200, r#"{"access_token":"tok-{n}","expires_in":10}"#).await;
    let mut gcp = GcpAuth::default();
    gcp.service_account_json = Some(endpoint.service_account());
    gcp.max_ttl = Some(8);
    let source = GcpTokenSource::from_config(&gcp).unwrap().unwrap();
    let key = source.cache_key(&gcp, "ai-proxy-vertex-ai");
    let cache = Mutex::new(TokenCache::new());
    let t0 = Instant::now();
    let s = Duration::from_secs;

    assert_eq!(
        source.token(&cache, &key, t0).await.unwrap().expose(),
        "tok-1"
    );
    // expires_in 10 (≈9.99 s by the time it is read) ≤ expire_early 60: kept; max_ttl 8 caps it.
    assert_eq!(
        source
            .token(&cache, &key, t0 + s(7))
            .await
            .unwrap()
            .expose(),
        "tok-1"
    );
    assert_eq!(endpoint.hits(), 1);
    assert!(cache.lock().unwrap().needs_refresh(&key, t0 + s(8)));
    assert_eq!(
        source
            .token(&cache, &key, t0 + s(8))
            .await
            .unwrap()
            .expose(),
        "tok-2"
    );
    assert_eq!(endpoint.hits(), 2);
    assert_eq!(
        source
            .token(&cache, &key, t0 + s(15))
            .await
            .unwrap()
            .expose(),
        "tok-2"
    );

    // Same account, another instance name: its own entry.
    let other = source.cache_key(&gcp, "instance-b");
    assert_eq!(
        source
            .token(&cache, &other, t0 + s(15))
            .await
            .unwrap()
            .expose(),
        "tok-3"
    );
    assert_eq!(cache.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_refusing_endpoint_is_a_token_fetch_error_without_secrets() {
    let endpoint = FakeTokenEndpoint::start(
        401,
        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
    )
    .await;
    let source = GcpTokenSource::new(endpoint.service_account()).unwrap();
    let err = source.fetch().await.unwrap_err();
    assert_eq!(
        err,
        VertexError::TokenFetch {
            reason: "token request failed".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "failed to get gcp access token: token request failed"
    );
    assert_eq!(err.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    // gcp_auth tried 5 times (backing off 50, 100, 200, 400 ms).
    assert_eq!(endpoint.hits(), 5);
}

#[tokio::test]
async fn a_token_response_that_is_not_a_token_is_an_error() {
    let endpoint = FakeTokenEndpoint::start(200, r#"{"token_type":"Bearer"}"#).await;
    let source = GcpTokenSource::new(endpoint.service_account()).unwrap();
    let err = source.fetch().await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("failed to get gcp access token: failed to deserialize token"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_token_fetch_error() {
    // Bind then drop: nothing listens on the port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sa = serde_json::json!({
        "private_key": KEY_PEM,
        "client_email": CLIENT_EMAIL,
        "token_uri": format!("http://127.0.0.1:{port}/token"),
    });
    let err = GcpTokenSource::new(Secret::new(sa.to_string()))
        .unwrap()
        .fetch()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        VertexError::TokenFetch {
            reason: "HTTP request failed".into()
        }
    );
}

#[test]
fn a_private_key_that_is_not_pkcs8_pem_is_refused_when_the_source_is_built() {
    let sa = serde_json::json!({
        "private_key": "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n",
        "client_email": CLIENT_EMAIL,
        "token_uri": "http://127.0.0.1:9/token",
    });
    let err = GcpTokenSource::new(Secret::new(sa.to_string())).unwrap_err();
    let printed = format!("{err} {err:?}");
    assert!(
        matches!(err, VertexError::InvalidPrivateKey { .. }),
        "{printed}"
    );
    assert!(
        !printed.contains("U0VDUkVU") && !printed.contains("BEGIN"),
        "{printed}"
    );
}

/// Runs only in a child process started by
/// `from_env_reads_gcp_service_account` with the variable set.
#[test]
#[ignore = "run by from_env_reads_gcp_service_account in a child process"]
fn child_from_env() {
    let Ok(expected) = std::env::var("EXPECT_CLIENT_EMAIL_SCOPE") else {
        return eprintln!("skipped: only meaningful in the child process");
    };
    let source = GcpTokenSource::from_env().unwrap();
    assert_eq!(source.scopes(), [expected.as_str()]);
    let gcp = GcpAuth::default();
    let again = GcpTokenSource::from_config_or_env(&gcp).unwrap();
    assert_eq!(again.service_account_json(), source.service_account_json());
}

#[test]
fn from_env_reads_gcp_service_account() {
    // Setting variables in this process needs `unsafe` (edition 2024), which
    // the workspace forbids: run one test in a child with it set instead.
    let sa = serde_json::json!({
        "private_key": KEY_PEM,
        "client_email": CLIENT_EMAIL,
        "scope": "https://env.example/scope",
    });
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_from_env", "--ignored", "--test-threads=1"])
        .env("GCP_SERVICE_ACCOUNT", sa.to_string())
        .env("EXPECT_CLIENT_EMAIL_SCOPE", "https://env.example/scope")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn from_env_without_the_variable_names_both_places_to_set() {
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_from_env_missing",
            "--ignored",
            "--test-threads=1",
        ])
        .env_remove("GCP_SERVICE_ACCOUNT")
        .env("VERTEX_CHILD_MISSING", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
#[ignore = "run by from_env_without_the_variable_names_both_places_to_set in a child process"]
fn child_from_env_missing() {
    if std::env::var_os("VERTEX_CHILD_MISSING").is_none() {
        return eprintln!("skipped: only meaningful in the child process");
    }
    let err = GcpTokenSource::from_config_or_env(&GcpAuth::default()).unwrap_err();
    assert_eq!(err, VertexError::MissingServiceAccount);
    assert_eq!(
        err.to_string(),
        "no gcp service account: set auth.gcp.service_account_json or the GCP_SERVICE_ACCOUNT environment variable"
    );
}
