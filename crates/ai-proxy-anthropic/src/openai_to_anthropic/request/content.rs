//! User content parts → Anthropic blocks: text, images and files (data
//! URLs become `base64` sources).

use ai_proxy_core::adapter::ConvertError;
use ai_proxy_core::json::chat::{DataUrl, data_url};

use super::message::{invalid, malformed};
use ai_proxy_core::json::raw::write_str;
use ai_proxy_core::json::scan::{Raw, elements, fields};

pub(super) fn write_user_content(
    out: &mut Vec<u8>,
    content: Option<Raw<'_>>,
    i: usize,
) -> Result<(), ConvertError> {
    let content =
        content.ok_or_else(|| invalid(format_args!("messages[{i}] (user) has no content")))?;
    if content.is_string() {
        out.extend_from_slice(content.bytes());
        return Ok(());
    }
    if !content.is_array() {
        return Err(invalid(format_args!(
            "messages[{i}].content must be a string or an array of content parts"
        )));
    }
    out.push(b'[');
    for (j, part) in elements(content)
        .map_err(malformed)?
        .into_iter()
        .enumerate()
    {
        if j > 0 {
            out.push(b',');
        }
        write_part(out, part, i, j)?;
    }
    out.push(b']');
    Ok(())
}

fn write_part(out: &mut Vec<u8>, part: Raw<'_>, i: usize, j: usize) -> Result<(), ConvertError> {
    if !part.is_object() {
        return Err(invalid(format_args!(
            "messages[{i}].content[{j}] must be an object"
        )));
    }
    let [kind, text, image_url, file, cache_control] =
        fields(part, ["type", "text", "image_url", "file", "cache_control"]).map_err(malformed)?;
    let kind = kind.and_then(Raw::str).unwrap_or_default();
    match kind.as_ref() {
        "text" => {
            let text = text.filter(|t| t.is_string()).ok_or_else(|| {
                invalid(format_args!(
                    "messages[{i}].content[{j}]: text part without text"
                ))
            })?;
            out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
            out.extend_from_slice(text.bytes());
        }
        "image_url" => {
            // `image_url` is an object with `url`, or (older clients) the URL.
            let url = match image_url {
                Some(u) if u.is_object() => fields(u, ["url"]).map_err(malformed)?[0],
                other => other,
            }
            .filter(|u| u.is_string())
            .ok_or_else(|| {
                invalid(format_args!(
                    "messages[{i}].content[{j}]: image_url part without image_url.url"
                ))
            })?;
            out.extend_from_slice(b"{\"type\":\"image\",\"source\":");
            match data_url(url) {
                Some(url) => write_base64_source(out, &url),
                None => {
                    out.extend_from_slice(b"{\"type\":\"url\",\"url\":");
                    out.extend_from_slice(url.bytes());
                    out.push(b'}');
                }
            }
        }
        "file" => {
            let data = file
                .filter(|f| f.is_object())
                .and_then(|f| fields(f, ["file_data"]).ok())
                .and_then(|[d]| d)
                .and_then(data_url)
                .ok_or_else(|| {
                    invalid(format_args!(
                        "messages[{i}].content[{j}]: file parts need file.file_data as a \
                         base64 data URL (file_id cannot be sent to Anthropic)"
                    ))
                })?;
            out.extend_from_slice(b"{\"type\":\"document\",\"source\":");
            write_base64_source(out, &data);
        }
        other => {
            return Err(invalid(format_args!(
                "messages[{i}].content[{j}]: content part type `{other}` has no Anthropic \
                 equivalent (use text, image_url or file)"
            )));
        }
    }
    if let Some(cc) = cache_control.filter(|c| c.is_object()) {
        out.extend_from_slice(b",\"cache_control\":");
        out.extend_from_slice(cc.bytes());
    }
    out.push(b'}');
    Ok(())
}

fn write_base64_source(out: &mut Vec<u8>, url: &DataUrl<'_>) {
    out.extend_from_slice(b"{\"type\":\"base64\",\"media_type\":");
    write_str(out, &url.media_type);
    out.extend_from_slice(b",\"data\":");
    url.data.write(out);
    out.push(b'}');
}
