//! The OpenAI chat request as the converter reads it: borrowed, with raw
//! JSON tokens for what passes through.

use ai_proxy_core::adapter::ConvertError;
use serde::Deserialize;
use serde_json::value::RawValue;

/// A request the converter cannot map (400 `{"error_msg": …}`).
pub(super) fn invalid(what: impl std::fmt::Display) -> ConvertError {
    ConvertError::new(format!(
        "invalid OpenAI chat request for Bedrock Converse: {what}"
    ))
}

#[derive(Deserialize)]
pub(crate) struct Request<'a> {
    #[serde(borrow, default)]
    pub(crate) messages: MessageList<'a>,
    #[serde(borrow)]
    pub(crate) max_completion_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) max_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) temperature: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) top_p: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) stop: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) tools: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) tool_choice: Option<&'a RawValue>,
}

/// `messages`, read in the one pass over the body.
#[derive(Default)]
pub(crate) enum MessageList<'a> {
    /// Absent or `null`.
    #[default]
    Absent,
    /// Not an array.
    NotArray,
    /// The messages.
    List(Vec<Message<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for MessageList<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = MessageList<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of messages")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<MessageList<'a>, A::Error> {
                let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(8));
                while let Some(m) = seq.next_element()? {
                    list.push(m);
                }
                Ok(MessageList::List(list))
            }
            fn visit_unit<E>(self) -> Result<MessageList<'a>, E> {
                Ok(MessageList::Absent)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MessageList<'a>, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(MessageList::NotArray)
            }
            fn visit_bool<E>(self, _: bool) -> Result<MessageList<'a>, E> {
                Ok(MessageList::NotArray)
            }
            fn visit_i64<E>(self, _: i64) -> Result<MessageList<'a>, E> {
                Ok(MessageList::NotArray)
            }
            fn visit_u64<E>(self, _: u64) -> Result<MessageList<'a>, E> {
                Ok(MessageList::NotArray)
            }
            fn visit_f64<E>(self, _: f64) -> Result<MessageList<'a>, E> {
                Ok(MessageList::NotArray)
            }
            fn visit_str<E>(self, _: &str) -> Result<MessageList<'a>, E> {
                Ok(MessageList::NotArray)
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
pub(crate) struct Message<'a> {
    #[serde(borrow)]
    pub(crate) role: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) content: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) tool_calls: Option<Vec<ToolCall<'a>>>,
    #[serde(borrow)]
    pub(crate) tool_call_id: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(crate) struct Part<'a> {
    #[serde(borrow, rename = "type")]
    pub(crate) kind: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) text: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) image_url: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) file: Option<File<'a>>,
    #[serde(borrow)]
    pub(crate) cache_control: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(crate) struct ImageUrl<'a> {
    #[serde(borrow)]
    pub(crate) url: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(crate) struct File<'a> {
    #[serde(borrow)]
    pub(crate) file_data: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) filename: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(crate) struct ToolCall<'a> {
    #[serde(borrow)]
    pub(crate) id: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) function: Option<Function<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct Function<'a> {
    #[serde(borrow)]
    pub(crate) name: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) arguments: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) description: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) parameters: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(crate) struct Tool<'a> {
    #[serde(borrow, rename = "type")]
    pub(crate) kind: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) function: Option<Function<'a>>,
}
