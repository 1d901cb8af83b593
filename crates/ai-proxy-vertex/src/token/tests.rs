use super::*;

const S: fn(u64) -> Duration = Duration::from_secs;

fn key(max_ttl: Option<u64>, early: u64) -> TokenCacheKey {
    TokenCacheKey::from_parts(
        Secret::new("{\"client_email\":\"a@b\"}"),
        early,
        max_ttl,
        "ai-proxy-vertex-ai",
    )
}

#[test]
fn ttl_defaults_to_3600_minus_expire_early() {
    assert_eq!(cache_ttl(None, 60, None), S(3540));
    assert_eq!(cache_ttl(Some(S(3600)), 60, None), S(3540));
}

#[test]
fn ttl_not_longer_than_expire_early_is_kept() {
    // APISIX: mocked ttl 5 with the default expire_early_secs 60 stays 5.
    assert_eq!(cache_ttl(Some(S(5)), 60, None), S(5));
    assert_eq!(cache_ttl(Some(S(60)), 60, None), S(60));
    assert_eq!(cache_ttl(Some(S(61)), 60, None), S(1));
}

#[test]
fn ttl_is_capped_by_max_ttl() {
    // APISIX: ttl 10 with max_ttl 8 → 8.
    assert_eq!(cache_ttl(Some(S(10)), 0, Some(8)), S(8));
    assert_eq!(cache_ttl(Some(S(10)), 60, Some(8)), S(8));
    assert_eq!(cache_ttl(Some(S(3600)), 60, Some(600)), S(600));
    assert_eq!(cache_ttl(Some(S(5)), 60, Some(8)), S(5));
}

#[test]
fn max_ttl_applies_after_expire_early() {
    assert_eq!(cache_ttl(Some(S(100)), 30, Some(80)), S(70));
}

#[test]
fn sub_second_expiry_is_kept() {
    assert_eq!(
        cache_ttl(Some(Duration::from_millis(1500)), 1, None),
        Duration::from_millis(500)
    );
}

#[test]
fn empty_cache_needs_refresh() {
    let mut cache = TokenCache::new();
    let now = Instant::now();
    assert!(cache.needs_refresh(&key(None, 60), now));
    assert!(cache.get(&key(None, 60), now).is_none());
    assert!(cache.is_empty());
}

#[test]
fn token_is_served_until_ttl_then_needs_refresh() {
    let mut cache = TokenCache::new();
    let k = key(None, 60);
    let t0 = Instant::now();
    assert_eq!(
        cache.store(k.clone(), Secret::new("tok"), Some(S(3600)), t0),
        S(3540)
    );
    for t in [
        t0,
        t0 + S(1),
        t0 + S(3539),
        t0 + S(3540) - Duration::from_nanos(1),
    ] {
        assert_eq!(cache.get(&k, t).map(Secret::expose), Some("tok"));
        assert!(!cache.needs_refresh(&k, t));
    }
    assert_eq!(cache.expires_at(&k), Some(t0 + S(3540)));
    for t in [t0 + S(3540), t0 + S(7200)] {
        assert!(cache.get(&k, t).is_none());
        assert!(cache.needs_refresh(&k, t));
    }
}

#[test]
fn short_lived_token_expires_with_its_own_ttl() {
    let mut cache = TokenCache::new();
    let k = key(None, 60);
    let t0 = Instant::now();
    assert_eq!(
        cache.store(k.clone(), Secret::new("tok"), Some(S(5)), t0),
        S(5)
    );
    assert!(!cache.needs_refresh(&k, t0 + S(4)));
    assert!(cache.needs_refresh(&k, t0 + S(5)));
}

#[test]
fn max_ttl_forces_an_early_refresh() {
    let mut cache = TokenCache::new();
    let k = key(Some(8), 60);
    let t0 = Instant::now();
    assert_eq!(
        cache.store(k.clone(), Secret::new("tok"), Some(S(10)), t0),
        S(8)
    );
    assert!(!cache.needs_refresh(&k, t0 + S(7)));
    assert!(cache.needs_refresh(&k, t0 + S(8)));
}

#[test]
fn missing_expires_in_means_an_hour() {
    let mut cache = TokenCache::new();
    let k = key(None, 0);
    let t0 = Instant::now();
    assert_eq!(
        cache.store(k.clone(), Secret::new("tok"), None, t0),
        S(3600)
    );
    assert!(!cache.needs_refresh(&k, t0 + S(3599)));
    assert!(cache.needs_refresh(&k, t0 + S(3600)));
}

#[test]
fn zero_ttl_is_not_cached() {
    let mut cache = TokenCache::new();
    let k = key(Some(0), 60);
    let t0 = Instant::now();
    cache.store(k.clone(), Secret::new("old"), Some(S(0)), t0);
    assert!(cache.is_empty());
    assert!(cache.needs_refresh(&k, t0));
}

#[test]
fn storing_again_replaces_the_token() {
    let mut cache = TokenCache::new();
    let k = key(None, 60);
    let t0 = Instant::now();
    cache.store(k.clone(), Secret::new("old"), Some(S(100)), t0);
    cache.store(k.clone(), Secret::new("new"), Some(S(100)), t0 + S(50));
    assert_eq!(cache.get(&k, t0 + S(60)).map(Secret::expose), Some("new"));
    assert_eq!(cache.len(), 1);
}

#[test]
fn keys_differ_by_account_ttl_settings_and_instance() {
    let mut cache = TokenCache::new();
    let t0 = Instant::now();
    let base = key(None, 60);
    cache.store(base.clone(), Secret::new("base"), None, t0);
    let others = [
        TokenCacheKey::from_parts(
            Secret::new("{\"client_email\":\"c@d\"}"),
            60,
            None,
            "ai-proxy-vertex-ai",
        ),
        key(Some(8), 60),
        key(None, 30),
        TokenCacheKey::from_parts(Secret::new("{\"client_email\":\"a@b\"}"), 60, None, "other"),
    ];
    for other in &others {
        assert_ne!(&base, other);
        assert!(cache.get(other, t0).is_none());
    }
    assert_eq!(cache.get(&base, t0).map(Secret::expose), Some("base"));
}

#[test]
fn key_from_config_uses_its_ttl_settings() {
    let mut gcp = GcpAuth::default();
    gcp.max_ttl = Some(8);
    let k = TokenCacheKey::new(Secret::new("{}"), &gcp, "i");
    assert_eq!(
        (k.expire_early_secs(), k.max_ttl(), k.instance()),
        (60, Some(8), "i")
    );
    assert_eq!(k.ttl(Some(S(10))), S(8));
}

#[test]
fn full_cache_evicts_expired_entries_first() {
    let mut cache = TokenCache::with_capacity(2);
    let t0 = Instant::now();
    let (a, b, c) = (key(None, 0), key(Some(1), 0), key(Some(2), 0));
    cache.store(a.clone(), Secret::new("a"), Some(S(100)), t0);
    cache.store(b.clone(), Secret::new("b"), Some(S(1)), t0);
    cache.store(c.clone(), Secret::new("c"), Some(S(100)), t0 + S(10));
    assert_eq!(cache.len(), 2);
    assert!(cache.get(&a, t0 + S(10)).is_some());
    assert!(cache.get(&c, t0 + S(10)).is_some());
}

#[test]
fn full_cache_evicts_the_least_recently_used() {
    let mut cache = TokenCache::with_capacity(2);
    let t0 = Instant::now();
    let (a, b, c) = (key(None, 0), key(Some(10), 0), key(Some(20), 0));
    cache.store(a.clone(), Secret::new("a"), None, t0);
    cache.store(b.clone(), Secret::new("b"), None, t0);
    assert!(cache.get(&a, t0).is_some()); // a is now more recent than b
    cache.store(c.clone(), Secret::new("c"), None, t0);
    assert_eq!(cache.len(), 2);
    assert!(cache.get(&b, t0).is_none());
    assert!(cache.get(&a, t0).is_some());
    assert!(cache.get(&c, t0).is_some());
}

#[test]
fn default_capacity_is_apisix_lru_size() {
    assert_eq!(TokenCache::new().capacity(), 4096);
    assert_eq!(TokenCache::with_capacity(0).capacity(), 1);
}

#[test]
fn cache_never_grows_past_capacity() {
    let mut cache = TokenCache::with_capacity(16);
    let t0 = Instant::now();
    for i in 0..100u64 {
        cache.store(key(Some(i + 1), 0), Secret::new("t"), None, t0);
        assert!(cache.len() <= 16);
    }
    assert_eq!(cache.len(), 16);
}

#[test]
fn remove_and_purge_forget_tokens() {
    let mut cache = TokenCache::new();
    let t0 = Instant::now();
    let (a, b) = (key(None, 0), key(Some(5), 0));
    cache.store(a.clone(), Secret::new("a"), None, t0);
    cache.store(b.clone(), Secret::new("b"), None, t0);
    assert_eq!(
        cache.remove(&a).map(|s| s.expose().to_owned()),
        Some("a".to_owned())
    );
    cache.purge_expired(t0 + S(5));
    assert!(cache.is_empty());
}

#[test]
fn debug_redacts_tokens_and_service_accounts() {
    let mut cache = TokenCache::new();
    let k = TokenCacheKey::from_parts(Secret::new("SA-JSON-SECRET"), 60, None, "inst");
    cache.store(k.clone(), Secret::new("TOKEN-SECRET"), None, Instant::now());
    let printed = format!("{cache:?} {k:?}");
    assert!(!printed.contains("SECRET"), "{printed}");
    assert!(printed.contains("<redacted>"));
}

#[test]
fn service_account_json_must_be_a_json_object() {
    assert!(validate_service_account_json(&Secret::new("{}")).is_ok());
    assert!(
        validate_service_account_json(&Secret::new(
            r#" {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n"} "#
        ))
        .is_ok()
    );
    let err = validate_service_account_json(&Secret::new("[1]")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid gcp service_account_json: expected a JSON object; give the service account \
         key file's JSON text"
    );
}

#[test]
fn service_account_json_errors_never_quote_the_secret() {
    for bad in [
        "{\"private_key\": \"SECRET",
        "{\"private_key\": SECRET}",
        "SECRET",
        "{\"private_key\": \"SECRET\"} SECRET",
        "{\"private_key\": \"SE\\qCRET\"}",
        "{SECRET: 1}",
        "",
    ] {
        let err = validate_service_account_json(&Secret::new(bad)).unwrap_err();
        let printed = format!("{err} {err:?}");
        assert!(
            printed.starts_with("invalid gcp service_account_json: "),
            "{printed}"
        );
        assert!(
            !printed.contains("SECRET") && !printed.contains("SE\\q"),
            "{printed}"
        );
        assert!(printed.contains(" at line 1 column "), "{printed}");
    }
}
