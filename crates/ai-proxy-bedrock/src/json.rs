//! The pieces of core's JSON toolkit the converters use, under the names
//! they use them by.

pub(crate) use ai_proxy_core::json::chat::{
    write_completion_end, write_completion_head, write_joined, write_tool_call, write_tool_calls,
    write_usage,
};
pub(crate) use ai_proxy_core::json::lenient::Count;
pub(crate) use ai_proxy_core::json::raw::{
    is_array, is_empty_string, is_null, is_number, is_object, is_string, str_eq as str_is,
    str_value, string_inner,
};
pub(crate) use ai_proxy_core::json::write::{Out, write_as_string, write_raw, write_str};
