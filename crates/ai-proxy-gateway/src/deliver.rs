//! The end of a client request the gateway answers: an upstream answer
//! relayed through the exchange, or a rejection; either way the access
//! record is finished.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, Version};

use crate::access_log::RequestLog;
use crate::body::{GatewayBody, respond};
use crate::error::Rejection;
use crate::hop_by_hop::is_hop_by_hop;
use crate::relay::{Deadlines, relay_boxed};
use crate::request_body;
use crate::send::Answer;

/// Non-streaming bodies up to this size are read whole before answering
/// (one write to the client, an exact `Content-Length`).
const INLINE_BODY: u64 = 256 * 1024;

/// Answers with the rejection and records it.
pub(crate) fn reject(log: Box<RequestLog>, rejection: Rejection) -> Response<GatewayBody> {
    let response = rejection.response();
    log.answered(rejection.status(), rejection.log_message());
    response
}

/// Relays an accepted upstream answer to the client. The head goes out
/// with the exchange's first bytes, so a failure before any output is
/// still answered with a status; a small body goes out whole. `plugins`:
/// the headers the route's plugins add (quota headers); they become the
/// response's map, so each is hashed and stored once. The upstream's head
/// (its parts) becomes the client's: no second head is made and dropped.
pub(crate) async fn deliver(
    answer: Answer,
    log: Box<RequestLog>,
    plugins: Option<HeaderMap>,
) -> Response<GatewayBody> {
    let Answer {
        response,
        exchange,
        head,
        timeout,
    } = answer;
    let (mut parts, body) = response.into_parts();
    let small = !head.streaming
        && request_body::declared_length(&parts.headers, &body).is_some_and(|n| n <= INLINE_BODY);
    let mut relay = relay_boxed(body, exchange, Deadlines::read(timeout));
    relay.end_log(log);
    let body = if small {
        match relay.collect_in_place().await {
            Ok(bytes) => GatewayBody::full(bytes),
            Err(e) => return respond(e.status(), e.content_type(), e.client_body()),
        }
    } else {
        if let Err(e) = relay.start().await {
            return respond(e.status(), e.content_type(), e.client_body());
        }
        GatewayBody::relay(relay)
    };
    // What `Response::new` would give but the status and the headers.
    parts.status = head.status;
    parts.version = Version::default();
    parts.extensions.clear();
    let drop_length = head.rewritten || small;
    let content_type = head.content_type.as_ref();
    // A route with plugins hands over a map sized for the response (even
    // when no plugin wrote into it); others none, or an empty one.
    match plugins.filter(|p| p.capacity() > 0) {
        None => {
            // The upstream's map becomes the client's: no header is hashed
            // or stored again, only the few that must not go out are
            // removed.
            strip_response_headers(&mut parts.headers, drop_length);
            if let Some(ct) = content_type {
                parts.headers.insert(header::CONTENT_TYPE, ct.clone());
            }
        }
        Some(plugins) => {
            parts.headers = with_plugin_headers(&parts.headers, plugins, content_type, drop_length);
        }
    }
    Response::from_parts(parts, body)
}

/// The client response's headers in `plugins`' map (sized once; their
/// headers are not hashed again): the upstream's as
/// [`copy_response_headers`] copies them and the exchange's `Content-Type`,
/// but a header the plugins set replaces the upstream's of that name.
fn with_plugin_headers(
    from: &HeaderMap,
    plugins: HeaderMap,
    content_type: Option<&HeaderValue>,
    drop_length: bool,
) -> HeaderMap {
    // Their names come first in the map (nothing is removed here).
    let theirs = plugins.keys_len();
    let content_type_set = theirs > 0 && plugins.contains_key(header::CONTENT_TYPE);
    let mut to = plugins;
    // Past the map's maximum it grows (and refuses) as it would anyway.
    let _ = to.try_reserve(from.len().saturating_add(1));
    copy_response_headers(from, &mut to, drop_length, theirs);
    if let Some(ct) = content_type.filter(|_| !content_type_set) {
        to.insert(header::CONTENT_TYPE, ct.clone());
    }
    to
}

/// Whether the upstream's `name` stays out of the client's response:
/// hop-by-hop, or `Content-Length` when `drop_length`.
#[inline]
fn stays_out(name: &HeaderName, drop_length: bool) -> bool {
    if drop_length && name == header::CONTENT_LENGTH {
        return true;
    }
    is_hop_by_hop(name.as_str().as_bytes())
}

/// The upstream's response headers made the client's in place: what
/// [`copy_response_headers`] copies into an empty map (all values of a name
/// removed, the others kept; the order of different names may change).
fn strip_response_headers(headers: &mut HeaderMap, drop_length: bool) {
    // Usually one name goes (a `Content-Length` the body replaces; the
    // pool's heads come without hop-by-hop fields, hyper's with them): one
    // scan of the names finds them, no hashing until then.
    loop {
        let mut out = headers.keys().filter(|n| stays_out(n, drop_length));
        let (first, second) = (out.next().cloned(), out.next().cloned());
        let more = out.next().is_some();
        for name in [first, second].into_iter().flatten() {
            headers.remove(&name);
        }
        if !more {
            return;
        }
    }
}

/// Upstream response headers minus hop-by-hop ones into `to`, whose first
/// `theirs` names are the plugins' (their values are kept, the upstream's
/// of those names left out); `Content-Length` dropped when the body is
/// rewritten or read whole (it gets its exact length from the body
/// itself). The caller sets the exchange's `Content-Type`.
fn copy_response_headers(from: &HeaderMap, to: &mut HeaderMap, drop_length: bool, theirs: usize) {
    for (name, value) in from {
        if stays_out(name, drop_length) {
            continue;
        }
        // A name the plugins set keeps their value. Their names are few:
        // compared as they are, not hashed (upstream heads are mostly
        // standard names, which never equal a custom one).
        if theirs > 0 && to.keys().take(theirs).any(|k| k == name) {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_static(v));
        }
        m
    }

    fn values(m: &HeaderMap, name: &str) -> Vec<String> {
        let all = m.get_all(name).iter();
        all.map(|v| v.to_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn a_plugin_header_replaces_the_upstreams_of_that_name() {
        let upstream = map(&[
            ("x-ai-ratelimit-limit-i", "999"),
            ("x-ai-ratelimit-limit-i", "998"),
            ("server", "up"),
        ]);
        let plugins = map(&[("x-ai-ratelimit-limit-i", "30")]);
        let out = with_plugin_headers(&upstream, plugins, None, false);
        assert_eq!(values(&out, "x-ai-ratelimit-limit-i"), ["30"]);
        assert_eq!(values(&out, "server"), ["up"]);
    }

    #[test]
    fn repeated_upstream_headers_all_go_out_beside_the_plugins() {
        let upstream = map(&[("set-cookie", "a=1"), ("set-cookie", "b=2")]);
        let plugins = map(&[("x-ai-ratelimit-limit-i", "30")]);
        let out = with_plugin_headers(&upstream, plugins, None, false);
        assert_eq!(values(&out, "set-cookie"), ["a=1", "b=2"]);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn the_exchanges_content_type_replaces_the_upstreams_unless_a_plugin_set_one() {
        let upstream = map(&[("content-type", "text/plain"), ("content-length", "9")]);
        let json = HeaderValue::from_static("application/json");
        let out = with_plugin_headers(&upstream, map(&[("x-q", "1")]), Some(&json), true);
        assert_eq!(values(&out, "content-type"), ["application/json"]);
        assert!(out.get("content-length").is_none());
        let theirs = map(&[("content-type", "text/csv")]);
        let out = with_plugin_headers(&upstream, theirs, Some(&json), false);
        assert_eq!(values(&out, "content-type"), ["text/csv"]);
        assert_eq!(values(&out, "content-length"), ["9"]);
    }

    fn stripped(upstream: &HeaderMap, drop_length: bool) -> HeaderMap {
        let mut m = upstream.clone();
        strip_response_headers(&mut m, drop_length);
        m
    }

    fn copied(upstream: &HeaderMap, drop_length: bool) -> HeaderMap {
        let mut m = HeaderMap::new();
        copy_response_headers(upstream, &mut m, drop_length, 0);
        m
    }

    #[test]
    fn stripping_in_place_keeps_what_copying_keeps() {
        let upstream = map(&[
            ("server", "up"),
            ("connection", "keep-alive"),
            ("set-cookie", "a=1"),
            ("content-length", "9"),
            ("keep-alive", "timeout=5"),
            ("set-cookie", "b=2"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("trailer", "x"),
            ("upgrade", "h2c"),
            ("proxy-connection", "close"),
            ("proxy-authenticate", "Basic"),
            ("connection", "close"),
            ("content-type", "application/json"),
        ]);
        for drop_length in [false, true] {
            let (ours, theirs) = (
                stripped(&upstream, drop_length),
                copied(&upstream, drop_length),
            );
            assert_eq!(ours.len(), theirs.len());
            for name in theirs.keys() {
                assert_eq!(values(&ours, name.as_str()), values(&theirs, name.as_str()));
            }
            assert_eq!(ours.contains_key("content-length"), !drop_length);
        }
        assert_eq!(
            values(&stripped(&upstream, true), "set-cookie"),
            ["a=1", "b=2"]
        );
    }

    #[test]
    fn a_head_without_hop_by_hop_headers_is_kept_whole() {
        let upstream = map(&[("server", "up"), ("content-type", "text/plain")]);
        assert_eq!(stripped(&upstream, true), upstream);
    }

    #[test]
    fn hop_by_hop_headers_stay_out_with_plugins_too() {
        let upstream = map(&[("connection", "close"), ("transfer-encoding", "chunked")]);
        let out = with_plugin_headers(&upstream, map(&[("x-q", "1")]), None, false);
        assert_eq!(out.len(), 1);
    }
}
