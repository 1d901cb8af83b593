//! [`KeyLookup`]: what the balancer asks the caller about one request.

use std::borrow::Cow;

use http::request::Parts;

/// The caller's view of one request, asked by [`crate::Balancer::pick`] and
/// [`crate::Balancer::on_outcome`].
///
/// Every method has a default, so an implementation answers only what its
/// configuration uses: chash `hash_on` reads [`var`](Self::var),
/// [`header`](Self::header), [`cookie`](Self::cookie) or
/// [`consumer`](Self::consumer), falling back to
/// [`remote_addr`](Self::remote_addr); the model router reads
/// [`model`](Self::model); the `rate_limiting` fallback strategy asks
/// [`is_rate_limited`](Self::is_rate_limited). Round robin without a router
/// asks nothing, so `&()` will do.
///
/// ```
/// use std::borrow::Cow;
/// use ai_proxy_multi::KeyLookup;
///
/// struct Vars<'a>(&'a [(&'a str, &'a str)]);
/// impl KeyLookup for Vars<'_> {
///     fn var(&self, name: &str) -> Option<Cow<'_, str>> {
///         self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| Cow::Borrowed(*v))
///     }
/// }
/// let vars = Vars(&[("http_x_user", "alice"), ("remote_addr", "10.0.0.1")]);
/// assert_eq!(vars.header("X-User").as_deref(), Some("alice"));
/// assert_eq!(vars.remote_addr().as_deref(), Some("10.0.0.1"));
/// ```
pub trait KeyLookup {
    /// An nginx-style variable (`query_string`, `arg_user`, `http_x_id`, …).
    fn var(&self, name: &str) -> Option<Cow<'_, str>> {
        let _ = name;
        None
    }

    /// A request header. Default: the variable `http_<name>` with the name
    /// lowercased and `-` turned into `_`, as nginx does.
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.var(&header_var_name(name))
    }

    /// A cookie. Default: the variable `cookie_<name>`.
    fn cookie(&self, name: &str) -> Option<Cow<'_, str>> {
        self.var(&format!("cookie_{name}"))
    }

    /// The authenticated consumer's name.
    fn consumer(&self) -> Option<Cow<'_, str>> {
        None
    }

    /// The client address, hashed when the configured key is missing.
    /// Default: the variable `remote_addr`.
    fn remote_addr(&self) -> Option<Cow<'_, str>> {
        self.var("remote_addr")
    }

    /// The client's requested `model` (the body field), for the model router.
    fn model(&self) -> Option<Cow<'_, str>> {
        None
    }

    /// Whether `instance` is out of quota for this request (APISIX's
    /// `ai-rate-limiting`). Asked only when `fallback_strategy` is
    /// `instance_health_and_rate_limiting` or contains `rate_limiting`;
    /// a limited instance is skipped and counts as tried.
    fn is_rate_limited(&self, instance: &str) -> bool {
        let _ = instance;
        false
    }
}

/// No keys at all: round robin needs none; chash hashes the empty string.
impl KeyLookup for () {}

impl<T: KeyLookup + ?Sized> KeyLookup for &T {
    fn var(&self, name: &str) -> Option<Cow<'_, str>> {
        (**self).var(name)
    }
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        (**self).header(name)
    }
    fn cookie(&self, name: &str) -> Option<Cow<'_, str>> {
        (**self).cookie(name)
    }
    fn consumer(&self) -> Option<Cow<'_, str>> {
        (**self).consumer()
    }
    fn remote_addr(&self) -> Option<Cow<'_, str>> {
        (**self).remote_addr()
    }
    fn model(&self) -> Option<Cow<'_, str>> {
        (**self).model()
    }
    fn is_rate_limited(&self, instance: &str) -> bool {
        (**self).is_rate_limited(instance)
    }
}

fn header_var_name(name: &str) -> String {
    let mut var = String::with_capacity(5 + name.len());
    var.push_str("http_");
    var.extend(name.chars().map(|c| match c {
        '-' => '_',
        c => c.to_ascii_lowercase(),
    }));
    var
}

/// A ready-made [`KeyLookup`] over an `http` request head.
///
/// Variables it answers, in this order: the ones added with
/// [`with_vars`](Self::with_vars); `remote_addr`; `uri`; `request_uri`; `query_string`
/// and `args`; `arg_<name>` (raw, not decoded, like nginx); `request_method`;
/// `host`; `scheme`; `http_<name>`; `cookie_<name>`; `consumer_name`.
///
/// ```
/// use ai_proxy_multi::{KeyLookup, RequestKeys};
/// let (parts, ()) = http::Request::get("/v1/chat?user=7")
///     .header("cookie", "a=1; session=xyz")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let keys = RequestKeys::new().with_parts(&parts).with_remote_addr("10.0.0.9").with_model("gpt-4o");
/// assert_eq!(keys.var("arg_user").as_deref(), Some("7"));
/// assert_eq!(keys.cookie("session").as_deref(), Some("xyz"));
/// assert_eq!(keys.model().as_deref(), Some("gpt-4o"));
/// ```
#[derive(Clone, Copy, Default)]
pub struct RequestKeys<'a> {
    parts: Option<&'a Parts>,
    remote_addr: Option<&'a str>,
    consumer: Option<&'a str>,
    model: Option<&'a str>,
    vars: &'a [(&'a str, &'a str)],
    rate_limited: Option<&'a (dyn Fn(&str) -> bool + Sync)>,
}

impl std::fmt::Debug for RequestKeys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers may carry credentials: show only what identifies the request.
        f.debug_struct("RequestKeys")
            .field("uri", &self.parts.map(|p| p.uri.path()))
            .field("remote_addr", &self.remote_addr)
            .field("consumer", &self.consumer)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl<'a> RequestKeys<'a> {
    /// Nothing known yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The request head (URI, method, headers, cookies).
    pub fn with_parts(mut self, parts: &'a Parts) -> Self {
        self.parts = Some(parts);
        self
    }

    /// The client address.
    pub fn with_remote_addr(mut self, addr: &'a str) -> Self {
        self.remote_addr = Some(addr);
        self
    }

    /// The authenticated consumer's name.
    pub fn with_consumer(mut self, name: &'a str) -> Self {
        self.consumer = Some(name);
        self
    }

    /// The client's requested model.
    pub fn with_model(mut self, model: &'a str) -> Self {
        self.model = Some(model);
        self
    }

    /// Extra variables, consulted before the built-in ones.
    pub fn with_vars(mut self, vars: &'a [(&'a str, &'a str)]) -> Self {
        self.vars = vars;
        self
    }

    /// The `ai-rate-limiting` hook: `true` when an instance is out of quota.
    pub fn with_rate_limited(mut self, hook: &'a (dyn Fn(&str) -> bool + Sync)) -> Self {
        self.rate_limited = Some(hook);
        self
    }

    fn header_str(&self, name: &str) -> Option<&'a str> {
        self.parts?.headers.get(name)?.to_str().ok()
    }

    fn query(&self) -> Option<&'a str> {
        self.parts?.uri.query()
    }
}

impl KeyLookup for RequestKeys<'_> {
    fn var(&self, name: &str) -> Option<Cow<'_, str>> {
        if let Some((_, v)) = self.vars.iter().find(|(k, _)| *k == name) {
            return Some(Cow::Borrowed(v));
        }
        let parts = self.parts;
        let found: Option<Cow<'_, str>> = match name {
            "remote_addr" => self.remote_addr.map(Cow::Borrowed),
            "consumer_name" => self.consumer.map(Cow::Borrowed),
            "uri" => parts.map(|p| Cow::Borrowed(p.uri.path())),
            "request_uri" => parts
                .and_then(|p| p.uri.path_and_query())
                .map(|pq| Cow::Borrowed(pq.as_str())),
            "query_string" | "args" => self.query().map(Cow::Borrowed),
            "request_method" => parts.map(|p| Cow::Borrowed(p.method.as_str())),
            "scheme" => parts.and_then(|p| p.uri.scheme_str()).map(Cow::Borrowed),
            "host" => self
                .header_str("host")
                .or_else(|| parts.and_then(|p| p.uri.host()))
                .map(Cow::Borrowed),
            _ => {
                if let Some(arg) = name.strip_prefix("arg_") {
                    query_arg(self.query()?, arg).map(Cow::Borrowed)
                } else if let Some(h) = name.strip_prefix("http_") {
                    let header: String =
                        h.chars().map(|c| if c == '_' { '-' } else { c }).collect();
                    self.header_str(&header).map(Cow::Borrowed)
                } else if let Some(c) = name.strip_prefix("cookie_") {
                    cookie_value(parts?, c).map(Cow::Borrowed)
                } else {
                    None
                }
            }
        };
        found
    }

    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        if let Some(v) = self.vars.iter().find(|(k, _)| *k == header_var_name(name)) {
            return Some(Cow::Borrowed(v.1));
        }
        self.header_str(name).map(Cow::Borrowed)
    }

    fn cookie(&self, name: &str) -> Option<Cow<'_, str>> {
        cookie_value(self.parts?, name).map(Cow::Borrowed)
    }

    fn consumer(&self) -> Option<Cow<'_, str>> {
        self.consumer.map(Cow::Borrowed)
    }

    fn remote_addr(&self) -> Option<Cow<'_, str>> {
        self.var("remote_addr")
    }

    fn model(&self) -> Option<Cow<'_, str>> {
        self.model.map(Cow::Borrowed)
    }

    fn is_rate_limited(&self, instance: &str) -> bool {
        self.rate_limited.is_some_and(|hook| hook(instance))
    }
}

fn query_arg<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

fn cookie_value<'p>(parts: &'p Parts, name: &str) -> Option<&'p str> {
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then_some(v.trim())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars(Vec<(&'static str, &'static str)>);
    impl KeyLookup for Vars {
        fn var(&self, name: &str) -> Option<Cow<'_, str>> {
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| Cow::Borrowed(*v))
        }
    }

    #[test]
    fn default_header_lookup_uses_the_nginx_variable_name() {
        let keys = Vars(vec![("http_x_api_user", "u1")]);
        assert_eq!(keys.header("X-Api-User").as_deref(), Some("u1"));
    }

    #[test]
    fn request_keys_read_query_headers_and_cookies() {
        let (parts, ()) = http::Request::post("http://h.example/p?a=1&B=2")
            .header("x-user", "carol")
            .header("cookie", "s=1")
            .header("cookie", "t = 2 ")
            .body(())
            .unwrap()
            .into_parts();
        let keys = RequestKeys::new().with_parts(&parts);
        assert_eq!(keys.var("query_string").as_deref(), Some("a=1&B=2"));
        assert_eq!(keys.var("arg_b").as_deref(), Some("2"));
        assert_eq!(keys.var("http_x_user").as_deref(), Some("carol"));
        assert_eq!(keys.header("X-User").as_deref(), Some("carol"));
        assert_eq!(keys.cookie("t").as_deref(), Some("2"));
        assert_eq!(keys.var("cookie_s").as_deref(), Some("1"));
        assert_eq!(keys.var("request_method").as_deref(), Some("POST"));
        assert_eq!(keys.var("uri").as_deref(), Some("/p"));
        assert_eq!(keys.var("host").as_deref(), Some("h.example"));
        assert_eq!(keys.var("nope"), None);
    }

    #[test]
    fn explicit_vars_win_over_built_ins() {
        let vars = [("query_string", "override")];
        let (parts, ()) = http::Request::get("/p?a=1").body(()).unwrap().into_parts();
        let keys = RequestKeys::new().with_parts(&parts).with_vars(&vars);
        assert_eq!(keys.var("query_string").as_deref(), Some("override"));
    }

    #[test]
    fn rate_limit_hook_is_consulted() {
        let hook = |name: &str| name == "a";
        let keys = RequestKeys::new().with_rate_limited(&hook);
        assert!(keys.is_rate_limited("a"));
        assert!(!keys.is_rate_limited("b"));
        assert!(!().is_rate_limited("a"));
    }
}
