//! Access tokens for a service account, fetched with the `gcp_auth` crate
//! (feature `gcp-auth`).
//!
//! The flow is APISIX's: an RS256 JWT (`iss` = `client_email`, `aud` =
//! `token_uri`, `scope`) signed with the key's `private_key` is exchanged at
//! `token_uri` (default `https://oauth2.googleapis.com/token`) for an access
//! token (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`). The
//! scope is the key file's `scope` (a string, or an array joined by
//! spaces), else `https://www.googleapis.com/auth/cloud-platform`.
//!
//! Caching is the caller's [`TokenCache`], so `max_ttl` and
//! `expire_early_secs` hold exactly: every [`GcpTokenSource::fetch`] asks
//! the endpoint for a new token (`gcp_auth`'s own per-account cache is not
//! kept between fetches). `gcp_auth` retries a failed request up to four
//! more times with a short backoff (50, 100, 200, 400 ms).
//!
//! The environment is read only by [`GcpTokenSource::from_env`] and
//! [`GcpTokenSource::from_config_or_env`], which the caller chooses to call.
//!
//! ```no_run
//! use std::sync::Mutex;
//! use std::time::Instant;
//! use ai_proxy_core::config::GcpAuth;
//! use ai_proxy_vertex::{GcpTokenSource, TokenCache};
//!
//! # async fn run(gcp: &GcpAuth, cache: &Mutex<TokenCache>) -> Result<(), ai_proxy_vertex::VertexError> {
//! let source = GcpTokenSource::from_config_or_env(gcp)?;
//! let key = source.cache_key(gcp, "ai-proxy-vertex-ai");
//! let token = source.token(cache, &key, Instant::now()).await?;
//! // … `authorization: Bearer {token.expose()}` on the upstream request.
//! # Ok(()) }
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ai_proxy_core::Secret;
use ai_proxy_core::config::GcpAuth;
use gcp_auth::TokenProvider;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::VertexError;
use crate::json::{self, Kind};
use crate::token::{TokenCache, TokenCacheKey, describe_json_error};

/// The scope asked for when the key file names none.
pub const DEFAULT_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Google's token endpoint, used when the key file has no `token_uri`.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The environment variable APISIX reads when `auth.gcp.service_account_json`
/// is absent.
pub const SERVICE_ACCOUNT_ENV: &str = "GCP_SERVICE_ACCOUNT";

/// A token as the endpoint returned it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FetchedToken {
    /// The access token (for `authorization: Bearer …`).
    pub token: Secret,
    /// How long the endpoint said it lives (`expires_in`).
    pub expires_in: Option<Duration>,
}

/// A service account that can fetch access tokens.
///
/// Built from the key file's JSON, checked up front: it must be a JSON
/// object with string `private_key` and `client_email`. `Debug` shows only
/// the scopes.
#[derive(Clone)]
pub struct GcpTokenSource {
    service_account_json: Secret,
    key_file: Secret,
    scopes: Vec<String>,
}

impl std::fmt::Debug for GcpTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpTokenSource")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// The key-file fields `gcp_auth` reads, with `token_uri` defaulted.
#[derive(Serialize)]
struct KeyFile<'a> {
    private_key: &'a str,
    client_email: &'a str,
    token_uri: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    project_id: Option<&'a str>,
}

impl GcpTokenSource {
    /// A source for the service account whose key file is
    /// `service_account_json`: a JSON object with the fields the token
    /// request needs and a private key it can sign with (checked here, so
    /// a bad key fails at start, not on every request).
    pub fn new(service_account_json: Secret) -> Result<Self, VertexError> {
        let text = service_account_json.expose();
        let fields = json::pick(
            text,
            &[
                "private_key",
                "client_email",
                "token_uri",
                "project_id",
                "scope",
            ],
        )
        .map_err(|e| VertexError::InvalidServiceAccountJson {
            reason: describe_json_error(&e),
        })?
        .ok_or_else(|| VertexError::InvalidServiceAccountJson {
            reason: "expected a JSON object".to_owned(),
        })?;
        let [private_key, client_email, token_uri, project_id, scope] = fields;
        let private_key = required_string(private_key, "private_key")?;
        let client_email = required_string(client_email, "client_email")?;
        let token_uri = optional_string(token_uri, "token_uri")?;
        let project_id = optional_string(project_id, "project_id")?;
        let scopes = scopes(scope)?;
        let key_file = KeyFile {
            private_key: &private_key,
            client_email: &client_email,
            token_uri: token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI),
            project_id: project_id.as_deref(),
        };
        let key_file = serde_json::to_string(&key_file).map_err(|e| {
            VertexError::InvalidServiceAccountJson {
                reason: describe_json_error(&e),
            }
        })?;
        // The rest of the key file's shape (no duplicate keys, a PEM
        // PKCS#8 armour, a token_uri URL) as the config check sees it.
        ai_proxy_core::config::check_service_account(text).map_err(|errors| {
            VertexError::InvalidServiceAccountJson {
                reason: errors
                    .errors()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        })?;
        // Whether the key itself is one the token request can be signed
        // with: parsed now, once, rather than failing every request.
        if let Err(e) = gcp_auth::CustomServiceAccount::from_json(&key_file) {
            return Err(match token_error(&e) {
                VertexError::TokenFetch { reason } => VertexError::InvalidPrivateKey { reason },
                other => other,
            });
        }
        Ok(Self {
            service_account_json,
            key_file: Secret::new(key_file),
            scopes,
        })
    }

    /// The source for `auth.gcp.service_account_json`, or `None` when it is
    /// absent or empty (then APISIX falls back to `GCP_SERVICE_ACCOUNT`, see
    /// [`from_config_or_env`](Self::from_config_or_env)).
    pub fn from_config(gcp: &GcpAuth) -> Result<Option<Self>, VertexError> {
        match &gcp.service_account_json {
            Some(json) if !json.is_empty() => Self::new(json.clone()).map(Some),
            _ => Ok(None),
        }
    }

    /// The source for the `GCP_SERVICE_ACCOUNT` environment variable (read
    /// here, and only here).
    pub fn from_env() -> Result<Self, VertexError> {
        match std::env::var(SERVICE_ACCOUNT_ENV) {
            Ok(json) if !json.is_empty() => Self::new(Secret::new(json)),
            _ => Err(VertexError::MissingServiceAccount),
        }
    }

    /// APISIX's order: `auth.gcp.service_account_json`, else the
    /// `GCP_SERVICE_ACCOUNT` environment variable.
    pub fn from_config_or_env(gcp: &GcpAuth) -> Result<Self, VertexError> {
        match Self::from_config(gcp)? {
            Some(source) => Ok(source),
            None => Self::from_env(),
        }
    }

    /// The service-account JSON this source was built from.
    pub fn service_account_json(&self) -> &Secret {
        &self.service_account_json
    }

    /// The scopes asked for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The [`TokenCache`] key for this account under `gcp`'s TTL settings.
    pub fn cache_key(&self, gcp: &GcpAuth, instance: impl Into<String>) -> TokenCacheKey {
        TokenCacheKey::new(self.service_account_json.clone(), gcp, instance)
    }

    /// Asks the token endpoint for a new access token.
    pub async fn fetch(&self) -> Result<FetchedToken, VertexError> {
        let account = gcp_auth::CustomServiceAccount::from_json(self.key_file.expose())
            .map_err(|e| token_error(&e))?;
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let token = account.token(&scopes).await.map_err(|e| token_error(&e))?;
        let expires_in = remaining(token.expires_at().timestamp_millis());
        Ok(FetchedToken {
            token: Secret::new(token.as_str()),
            expires_in,
        })
    }

    /// The cached token for `key` at `now`, else a fetched one, stored in
    /// `cache` under the TTL rule. The lock is not held while fetching (two
    /// concurrent misses both fetch; the later store wins).
    pub async fn token(
        &self,
        cache: &Mutex<TokenCache>,
        key: &TokenCacheKey,
        now: Instant,
    ) -> Result<Secret, VertexError> {
        if let Some(token) = lock(cache).get(key, now) {
            return Ok(token.clone());
        }
        let fetched = self.fetch().await?;
        lock(cache).store(key.clone(), fetched.token.clone(), fetched.expires_in, now);
        Ok(fetched.token)
    }
}

/// A poisoned lock still holds a consistent cache (no method panics midway).
fn lock(cache: &Mutex<TokenCache>) -> std::sync::MutexGuard<'_, TokenCache> {
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn required_string(raw: Option<&RawValue>, field: &'static str) -> Result<String, VertexError> {
    optional_string(raw, field)?
        .filter(|s| !s.is_empty())
        .ok_or(VertexError::ServiceAccountField { field })
}

fn optional_string(
    raw: Option<&RawValue>,
    field: &'static str,
) -> Result<Option<String>, VertexError> {
    match raw {
        None => Ok(None),
        Some(raw) if json::kind(raw) == Kind::Null => Ok(None),
        Some(raw) if json::kind(raw) == Kind::String => serde_json::from_str(raw.get())
            .map(Some)
            .map_err(|_| VertexError::ServiceAccountField { field }),
        Some(_) => Err(VertexError::ServiceAccountField { field }),
    }
}

/// The key file's `scope`: a string, or an array of strings (APISIX joins
/// it with spaces; `gcp_auth` does the same with the list).
fn scopes(raw: Option<&RawValue>) -> Result<Vec<String>, VertexError> {
    let invalid = VertexError::ServiceAccountField { field: "scope" };
    let scopes = match raw.map(|r| (r, json::kind(r))) {
        None | Some((_, Kind::Null)) => Vec::new(),
        Some((raw, Kind::String)) => vec![optional_string(Some(raw), "scope")?.unwrap_or_default()],
        Some((raw, Kind::Array)) => {
            serde_json::from_str::<Vec<String>>(raw.get()).map_err(|_| invalid)?
        }
        Some(_) => return Err(invalid),
    };
    let scopes: Vec<String> = scopes.into_iter().filter(|s| !s.is_empty()).collect();
    if scopes.is_empty() {
        return Ok(vec![DEFAULT_SCOPE.to_owned()]);
    }
    Ok(scopes)
}

/// `gcp_auth` errors by their fixed description only: the nested causes
/// (PEM or JSON parser messages) could quote key material.
fn token_error(e: &gcp_auth::Error) -> VertexError {
    let reason = match e {
        gcp_auth::Error::Str(what) => (*what).to_owned(),
        gcp_auth::Error::Http(what, _) => format!("{what} (HTTP error)"),
        gcp_auth::Error::Io(what, _) => format!("{what} (I/O error)"),
        gcp_auth::Error::Json(what, e) => format!("{what} ({})", describe_json_error(e)),
        gcp_auth::Error::Other(what, _) => (*what).to_owned(),
        _ => "token request failed".to_owned(),
    };
    VertexError::TokenFetch { reason }
}

/// Time left until `expires_at_ms` (Unix milliseconds), by the wall clock
/// `gcp_auth` computed it with.
fn remaining(expires_at_ms: i64) -> Option<Duration> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis();
    let left = i128::from(expires_at_ms) - i128::try_from(now_ms).ok()?;
    Some(Duration::from_millis(u64::try_from(left.max(0)).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_PEM: &str = include_str!("../tests/fixtures/throwaway-test-rsa-key.pem");

    fn sa(extra: &str) -> Secret {
        let key = serde_json::to_string(KEY_PEM).unwrap();
        Secret::new(format!(
            r#"{{"type":"service_account","private_key":{key},"client_email":"sa@p.iam.gserviceaccount.com"{extra}}}"#
        ))
    }

    #[test]
    fn default_scope_is_cloud_platform() {
        assert_eq!(
            GcpTokenSource::new(sa("")).unwrap().scopes(),
            [DEFAULT_SCOPE]
        );
    }

    #[test]
    fn scope_string_or_array_is_used() {
        let s = GcpTokenSource::new(sa(r#","scope":"a b""#)).unwrap();
        assert_eq!(s.scopes(), ["a b"]);
        let s = GcpTokenSource::new(sa(r#","scope":["a","b"]"#)).unwrap();
        assert_eq!(s.scopes(), ["a", "b"]);
        let s = GcpTokenSource::new(sa(r#","scope":[]"#)).unwrap();
        assert_eq!(s.scopes(), [DEFAULT_SCOPE]);
        let err = GcpTokenSource::new(sa(r#","scope":7"#)).unwrap_err();
        assert_eq!(err, VertexError::ServiceAccountField { field: "scope" });
    }

    #[test]
    fn private_key_and_client_email_are_required_strings() {
        let err = GcpTokenSource::new(Secret::new(r#"{"client_email":"a@b"}"#)).unwrap_err();
        assert_eq!(
            err,
            VertexError::ServiceAccountField {
                field: "private_key"
            }
        );
        let err = GcpTokenSource::new(Secret::new(r#"{"private_key":"k","client_email":1}"#))
            .unwrap_err();
        assert_eq!(
            err,
            VertexError::ServiceAccountField {
                field: "client_email"
            }
        );
        let err = GcpTokenSource::new(Secret::new(r#"{"private_key":"","client_email":"a"}"#))
            .unwrap_err();
        assert_eq!(
            err,
            VertexError::ServiceAccountField {
                field: "private_key"
            }
        );
    }

    #[test]
    fn a_key_gcp_auth_cannot_sign_with_is_refused_up_front() {
        let armoured = serde_json::json!({
            "private_key": "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n",
            "client_email": "a@p",
        });
        let err = GcpTokenSource::new(Secret::new(armoured.to_string())).unwrap_err();
        assert!(
            matches!(err, VertexError::InvalidPrivateKey { .. }),
            "{err}"
        );
        let printed = format!("{err} {err:?}");
        assert!(!printed.contains("U0VDUkVU"), "{printed}");
    }

    #[test]
    fn duplicate_fields_and_a_bad_token_uri_are_refused() {
        let key = serde_json::to_string(KEY_PEM).unwrap();
        let twice = format!(r#"{{"private_key":{key},"client_email":"a@p","client_email":"b@p"}}"#);
        let err = GcpTokenSource::new(Secret::new(twice)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid gcp service_account_json: client_email: is given twice; keep one; give \
             the service account key file's JSON text"
        );
        let err = GcpTokenSource::new(sa(r#","token_uri":"not a url""#)).unwrap_err();
        assert!(
            err.to_string()
                .contains("token_uri: must be an absolute http(s) URL")
        );
    }

    #[test]
    fn client_messages_carry_the_prefix_once() {
        let err = GcpTokenSource::new(Secret::new("[]")).unwrap_err();
        let message = err.client_message();
        assert_eq!(message.matches("failed to get gcp access token").count(), 1);
        let fetch = VertexError::TokenFetch {
            reason: "HTTP request failed".into(),
        };
        assert_eq!(
            fetch.client_message(),
            "failed to get gcp access token: HTTP request failed"
        );
    }

    #[test]
    fn non_objects_and_bad_json_are_invalid() {
        for bad in ["[]", "\"x\"", "{", "SECRET"] {
            let err = GcpTokenSource::new(Secret::new(bad)).unwrap_err();
            assert!(
                matches!(err, VertexError::InvalidServiceAccountJson { .. }),
                "{bad}"
            );
            assert!(!err.to_string().contains("SECRET"));
        }
    }

    #[test]
    fn token_uri_defaults_to_google() {
        let s = GcpTokenSource::new(sa("")).unwrap();
        let key_file: serde_json::Value = serde_json::from_str(s.key_file.expose()).unwrap();
        assert_eq!(key_file["token_uri"], DEFAULT_TOKEN_URI);
        let s = GcpTokenSource::new(sa(
            r#","token_uri":"http://127.0.0.1:1/t","project_id":"p""#,
        ))
        .unwrap();
        let key_file: serde_json::Value = serde_json::from_str(s.key_file.expose()).unwrap();
        assert_eq!(key_file["token_uri"], "http://127.0.0.1:1/t");
        assert_eq!(key_file["project_id"], "p");
    }

    #[test]
    fn from_config_is_none_without_a_service_account() {
        let mut gcp = GcpAuth::default();
        assert!(GcpTokenSource::from_config(&gcp).unwrap().is_none());
        gcp.service_account_json = Some(Secret::new(""));
        assert!(GcpTokenSource::from_config(&gcp).unwrap().is_none());
        gcp.service_account_json = Some(sa(""));
        assert!(GcpTokenSource::from_config(&gcp).unwrap().is_some());
    }

    #[test]
    fn debug_shows_no_credentials() {
        let s = GcpTokenSource::new(sa(r#","private_key_id":"KEYID""#)).unwrap();
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("PRIVATE") && !printed.contains("sa@p") && !printed.contains("KEYID")
        );
        assert!(printed.contains("cloud-platform"));
    }

    #[test]
    fn remaining_time_is_never_negative() {
        assert_eq!(remaining(0), Some(Duration::ZERO));
        let soon = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 60_000;
        let left = remaining(soon).unwrap();
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50));
    }
}
