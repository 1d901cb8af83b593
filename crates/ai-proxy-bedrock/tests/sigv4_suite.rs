//! AWS's published SigV4 test suite (`tests/aws-signing-test-suite/v4`,
//! from awslabs/aws-c-auth): every case's header signing must produce the
//! suite's canonical request, string to sign, signature and
//! `Authorization` header. Cases whose request fits an `http::Request`
//! are also signed end to end through `SigV4Signer::sign`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ai_proxy_bedrock::sigv4::{AwsCredentials, SigV4Signer, SignableRequest, SigningSettings};
use ai_proxy_core::Secret;
use serde::Deserialize;

#[derive(Deserialize)]
struct Context {
    credentials: Creds,
    normalize: bool,
    region: String,
    service: String,
    sign_body: bool,
    timestamp: String,
    #[serde(default)]
    omit_session_token: bool,
}

#[derive(Deserialize)]
struct Creds {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
}

struct RawRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws-signing-test-suite/v4")
}

/// `2015-08-30T12:36:00Z` → SystemTime.
fn timestamp(s: &str) -> SystemTime {
    let (date, time) = s.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let t: Vec<u64> = time.split(':').map(|p| p.parse().unwrap()).collect();
    // Days from civil (Hinnant).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).unwrap();
    UNIX_EPOCH + Duration::from_secs(days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2])
}

fn parse_request(text: &[u8]) -> RawRequest {
    let split = text
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2))
        .unwrap_or((text.len(), text.len()));
    let head = std::str::from_utf8(&text[..split.0]).unwrap();
    let body = text[split.1..].to_vec();
    let mut lines = head.split('\n');
    let first = lines.next().unwrap();
    let (method, rest) = first.split_once(' ').unwrap();
    let target = rest.rsplit_once(" HTTP/").unwrap().0;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push(b'\n');
            last.1.extend_from_slice(line.as_bytes());
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_owned(), value.as_bytes().to_vec()));
        }
    }
    RawRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn signer(ctx: &Context) -> SigV4Signer {
    let c = &ctx.credentials;
    let mut settings = SigningSettings::default();
    settings.normalize_path = ctx.normalize;
    settings.content_sha256_header = ctx.sign_body;
    settings.sign_session_token = !ctx.omit_session_token;
    SigV4Signer::new(
        AwsCredentials::new(
            c.access_key_id.as_str(),
            c.secret_access_key.as_str(),
            c.token.clone().map(Secret::new),
        ),
        ctx.region.clone(),
        ctx.service.clone(),
    )
    .with_settings(settings)
}

fn cases() -> Vec<(String, PathBuf)> {
    let mut cases: Vec<_> = std::fs::read_dir(suite_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("header-signature.txt").exists())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_header_signing_case_of_the_suite_passes() {
    let cases = cases();
    assert_eq!(cases.len(), 38, "the v4 suite has 38 cases");
    for (name, dir) in cases {
        let ctx: Context = serde_json::from_str(&read(&dir, "context.json")).unwrap();
        let now = timestamp(&ctx.timestamp);
        let raw = parse_request(&std::fs::read(dir.join("request.txt")).unwrap());
        let signer = signer(&ctx);
        let date_time = "20150830T123600Z";
        let payload_hash = {
            let probe = SignableRequest::new("GET", "/", "", Vec::new(), &raw.body);
            signer.sign_parts(&probe, now).unwrap().payload_hash
        };
        let mut headers: Vec<(&str, &[u8])> = raw
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        headers.push(("X-Amz-Date", date_time.as_bytes()));
        let token = ctx.credentials.token.clone().unwrap_or_default();
        if !token.is_empty() && !ctx.omit_session_token {
            headers.push(("X-Amz-Security-Token", token.as_bytes()));
        }
        if ctx.sign_body {
            headers.push(("x-amz-content-sha256", payload_hash.as_bytes()));
        }
        let input = SignableRequest::new(&raw.method, &raw.path, &raw.query, headers, &raw.body);
        let sig = signer.sign_parts(&input, now).unwrap();
        assert_eq!(
            sig.canonical_request,
            read(&dir, "header-canonical-request.txt"),
            "{name}: canonical request"
        );
        assert_eq!(
            sig.string_to_sign,
            read(&dir, "header-string-to-sign.txt"),
            "{name}: string to sign"
        );
        assert_eq!(
            sig.signature,
            read(&dir, "header-signature.txt").trim(),
            "{name}: signature"
        );
        let signed = read(&dir, "header-signed-request.txt");
        let expected_auth = signed
            .lines()
            .find_map(|l| l.strip_prefix("Authorization:"))
            .unwrap();
        assert_eq!(sig.authorization, expected_auth, "{name}: authorization");
    }
}

/// The cases an `http::Request` can carry (a valid URI, header values
/// without line breaks), signed through `sign`: same `Authorization`.
#[test]
fn suite_requests_signed_in_place_carry_the_expected_authorization() {
    let mut checked = 0;
    for (name, dir) in cases() {
        let ctx: Context = serde_json::from_str(&read(&dir, "context.json")).unwrap();
        let raw = parse_request(&std::fs::read(dir.join("request.txt")).unwrap());
        // `sign` signs the path as sent (percent-encoded): only paths that
        // need no encoding mean the same thing raw and on the wire.
        let plain_path = raw
            .path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
        let multiline = raw.headers.iter().any(|(_, v)| v.contains(&b'\n'));
        let host = raw
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
            .unwrap();
        let query = if raw.query.is_empty() {
            String::new()
        } else {
            format!("?{}", raw.query)
        };
        let uri = format!("https://{host}{}{query}", raw.path);
        let Ok(uri) = uri.parse::<http::Uri>() else {
            continue;
        };
        if !plain_path || multiline {
            continue;
        }
        let mut builder = http::Request::builder()
            .method(raw.method.as_str())
            .uri(uri);
        for (n, v) in &raw.headers {
            if n.eq_ignore_ascii_case("host") {
                continue;
            }
            builder = builder.header(n.as_str(), v.as_slice());
        }
        let mut request = builder.body(bytes::Bytes::from(raw.body.clone())).unwrap();
        signer(&ctx)
            .sign(&mut request, timestamp(&ctx.timestamp))
            .unwrap();
        let signed = read(&dir, "header-signed-request.txt");
        let expected_auth = signed
            .lines()
            .find_map(|l| l.strip_prefix("Authorization:"))
            .unwrap();
        assert_eq!(
            request.headers()["authorization"].to_str().unwrap(),
            expected_auth,
            "{name}"
        );
        assert!(request.headers()["authorization"].is_sensitive());
        assert_eq!(request.headers()["x-amz-date"], "20150830T123600Z");
        if let Some(token) = &ctx.credentials.token {
            assert_eq!(request.headers()["x-amz-security-token"], token.as_str());
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} cases fit an http::Request");
}
