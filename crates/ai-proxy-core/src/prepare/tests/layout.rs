use super::*;
use crate::json::{Scanner, SyntaxError};

// ---- a client body with its layout (ClientBodyLayout) --------------------

/// Every top-level member of `body`, as a transform that wrote it reports
/// them.
fn layout_of(body: &Bytes) -> ClientBodyLayout {
    let b: &[u8] = body;
    let at = |part: &[u8]| part.as_ptr() as usize - b.as_ptr() as usize;
    let mut members = Vec::new();
    Scanner::new(b)
        .object(|key, s| {
            let key = key.raw().bytes();
            let value = s.value()?.bytes();
            members.push((
                at(key)..at(key) + key.len(),
                at(value)..at(value) + value.len(),
            ));
            Ok::<_, SyntaxError>(())
        })
        .unwrap();
    ClientBodyLayout::new(body.clone(), members)
}

fn laid_out(uri: &str, body: &str) -> Request<Bytes> {
    let mut request = post(uri, body);
    let layout = layout_of(request.body());
    request.extensions_mut().insert(layout);
    request
}

#[test]
fn a_body_read_through_its_layout_prepares_as_when_parsed() {
    let proxy = Cfg::new(Provider::OpenAi)
        .option("temperature", "0.5")
        .max_tokens(64)
        .compile();
    for body in [
        CHAT,
        r#"{"messages":[],"stream":true,"tools":[{"type":"function"}],"tools":[1,2,3]}"#,
        r#"{"tools":[1,2],"messages":[],"tools":"none","user":"u"}"#,
        "{ \"mod\\u0065l\" : \"gpt-4o\" ,\n \"messages\":[ ],\"stream_options\":{\"a\":1},\"stream\":true }",
        r#"{"model":"a","model":"b","messages":[{"role":"user","content":"é \"q\""}],"x":1e999}"#,
    ] {
        let parsed = prep(&proxy, post("/v1/chat/completions", body)).unwrap();
        let read = prep(&proxy, laid_out("/v1/chat/completions", body)).unwrap();
        assert_eq!(body_text(&read), body_text(&parsed), "{body}");
        assert_eq!(read.context.tool_count, parsed.context.tool_count, "{body}");
        assert_eq!(
            read.context.request_llm_model,
            parsed.context.request_llm_model
        );
        assert_eq!(read.context.request_type, parsed.context.request_type);
    }
}

#[test]
fn the_layout_is_what_prepare_reads() {
    // The builder's promise is trusted: a member it leaves out is not seen.
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let mut request = post("/", r#"{"model":"gpt-4o","messages":[]}"#);
    let body = request.body().clone();
    request
        .extensions_mut()
        .insert(ClientBodyLayout::new(body, vec![(18..28, 29..31)]));
    let p = prep(&proxy, request).unwrap();
    assert_eq!(p.context.request_llm_model, None);
    // Nothing changed: the body goes as it came.
    assert_eq!(body_text(&p), r#"{"model":"gpt-4o","messages":[]}"#);
}

#[test]
fn a_layout_of_other_bytes_is_ignored() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let mut request = post("/", CHAT);
    // Equal bytes elsewhere in memory are another body.
    let copy = Bytes::copy_from_slice(CHAT.as_bytes());
    request.extensions_mut().insert(layout_of(&copy));
    let p = prep(&proxy, request).unwrap();
    assert_eq!(body_text(&p), CHAT);
    assert_eq!(p.context.request_llm_model.as_deref(), Some("gpt-4o"));
}

#[test]
fn a_layout_off_the_body_falls_back_to_parsing() {
    let proxy = Cfg::new(Provider::OpenAi).compile();
    let mut request = post("/", CHAT);
    let body = request.body().clone();
    request
        .extensions_mut()
        .insert(ClientBodyLayout::new(body, vec![(1..7, 9..500)]));
    assert_eq!(body_text(&prep(&proxy, request).unwrap()), CHAT);
}
