//! Images and documents: base64 data URLs → Converse byte sources.

use std::borrow::Cow;

use ai_proxy_core::adapter::ConvertError;
use serde_json::value::RawValue;

use super::wire::{File, ImageUrl, invalid};
use crate::json::{is_object, is_string, str_value, write_str};

/// `data:<media type>;base64,<data>` → (media type, base64 data as JSON
/// string contents, i.e. still escaped).
fn data_url(url: &RawValue) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let decoded = str_value(url)?;
    match decoded {
        Cow::Borrowed(s) => {
            let (meta, data) = s.strip_prefix("data:")?.split_once(',')?;
            let media = meta.strip_suffix(";base64")?;
            Some((Cow::Borrowed(media), Cow::Borrowed(data)))
        }
        Cow::Owned(s) => {
            let (meta, data) = s.strip_prefix("data:")?.split_once(',')?;
            let media = meta.strip_suffix(";base64")?;
            Some((Cow::Owned(media.to_owned()), Cow::Owned(data.to_owned())))
        }
    }
}

fn write_bytes_source(out: &mut Vec<u8>, data: &str) {
    out.extend_from_slice(b"\"source\":{\"bytes\":");
    write_str(out, data);
    out.push(b'}');
}

pub(super) fn write_image(
    out: &mut Vec<u8>,
    image_url: Option<&RawValue>,
    i: usize,
    j: usize,
) -> Result<(), ConvertError> {
    let url = match image_url {
        Some(u) if is_object(u) => serde_json::from_str::<ImageUrl<'_>>(u.get())
            .ok()
            .and_then(|u| u.url),
        other => other,
    }
    .filter(|u| is_string(u))
    .ok_or_else(|| {
        invalid(format_args!(
            "messages[{i}].content[{j}]: image_url part without image_url.url"
        ))
    })?;
    let (media, data) = data_url(url).ok_or_else(|| {
        invalid(format_args!(
            "messages[{i}].content[{j}]: image_url must be a base64 data URL \
             (data:image/png;base64,…); Bedrock Converse does not fetch URLs"
        ))
    })?;
    let format = match media.as_ref() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(invalid(format_args!(
                "messages[{i}].content[{j}]: image type `{other}` is not one of png, jpeg, gif, webp"
            )));
        }
    };
    out.extend_from_slice(b"{\"image\":{\"format\":\"");
    out.extend_from_slice(format.as_bytes());
    out.extend_from_slice(b"\",");
    write_bytes_source(out, &data);
    out.extend_from_slice(b"}}");
    Ok(())
}

pub(super) fn write_document(
    out: &mut Vec<u8>,
    file: Option<&File<'_>>,
    i: usize,
    j: usize,
) -> Result<(), ConvertError> {
    let (media, data) = file
        .and_then(|f| f.file_data)
        .and_then(data_url)
        .ok_or_else(|| {
            invalid(format_args!(
                "messages[{i}].content[{j}]: file parts need file.file_data as a base64 data URL \
                 (file_id cannot be sent to Bedrock)"
            ))
        })?;
    let format = match media.as_ref() {
        "application/pdf" => "pdf",
        "text/csv" => "csv",
        "text/plain" => "txt",
        "text/markdown" => "md",
        "text/html" => "html",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        other => {
            return Err(invalid(format_args!(
                "messages[{i}].content[{j}]: document type `{other}` is not one Converse reads \
                 (pdf, csv, txt, md, html, doc, docx, xls, xlsx)"
            )));
        }
    };
    let name = file
        .and_then(|f| f.filename)
        .and_then(str_value)
        .map(|n| document_name(&n))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("document-{i}-{j}"));
    out.extend_from_slice(b"{\"document\":{\"format\":\"");
    out.extend_from_slice(format.as_bytes());
    out.extend_from_slice(b"\",\"name\":");
    write_str(out, &name);
    out.push(b',');
    write_bytes_source(out, &data);
    out.extend_from_slice(b"}}");
    Ok(())
}

/// A file name as Converse accepts it: the stem, with characters other
/// than letters, digits, single spaces, `-`, `()` and `[]` turned into `-`.
pub(super) fn document_name(filename: &str) -> String {
    let stem = filename.rsplit_once('.').map_or(filename, |(stem, _)| stem);
    let mut name = String::with_capacity(stem.len());
    for c in stem.chars().take(100) {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '(' | ')' | '[' | ']') {
            name.push(c);
        } else if c == ' ' && !name.ends_with(' ') {
            name.push(' ');
        } else if c != ' ' {
            name.push('-');
        }
    }
    name.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_names_keep_only_converse_characters() {
        assert_eq!(
            document_name("Q3 report_final.v2.pdf"),
            "Q3 report-final-v2"
        );
        assert_eq!(document_name("a  b.txt"), "a b");
        assert_eq!(document_name("日本.pdf"), "--");
    }
}
