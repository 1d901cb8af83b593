//! The text moderation reads: APISIX's `extract_system_content` and
//! `extract_turn_content` (`ai-protocols/*.lua`), joined as
//! `ai-aws-content-moderation.lua` joins them.

use ai_proxy_core::config::{CheckMode, RoleSet};

use super::{ModerationError, ModerationRequest};
use crate::body::ClientBody;
use crate::conversation::{Conversation, Turn};

/// See [`ModerationRequest::text`].
pub(super) fn request_text(
    request: &ModerationRequest<'_>,
    roles: RoleSet,
    mode: CheckMode,
) -> Result<Option<String>, ModerationError> {
    let body = ClientBody::read(request.body, u64::MAX).map_err(ModerationError::unreadable)?;
    let conversation =
        Conversation::read(&body, request.protocol).map_err(|e| ModerationError::InvalidBody {
            reason: format!("malformed JSON at byte {}", e.offset),
        })?;
    let Some(c) = conversation else {
        return Ok(None);
    };
    let mut texts: Vec<&str> = Vec::new();
    if roles.system {
        texts.extend(c.system.iter().map(AsRef::as_ref));
        for turn in c.turns.iter().filter(|t| is_system(t)) {
            texts.extend(turn.texts.iter().map(AsRef::as_ref));
        }
    }
    if roles.any_turn() {
        let selected = |t: &Turn<'_>| match &t.role {
            Some(role) => roles.has_turn_role(role),
            None => t.tool_output && roles.tool,
        };
        let start = match mode {
            // The latest consecutive block of selected messages: whatever
            // is not selected ends it.
            CheckMode::Last => {
                let block = c.turns.iter().rev().take_while(|t| selected(t)).count();
                c.turns.len() - block
            }
            // `all`, and any mode to come: everything.
            _ => 0,
        };
        for turn in c
            .turns
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|t| selected(t))
        {
            texts.extend(turn.texts.iter().map(AsRef::as_ref));
        }
    }
    Ok(Some(texts.join(" ")))
}

/// `system` and `developer` (OpenAI's newer name for it) messages.
fn is_system(turn: &Turn<'_>) -> bool {
    matches!(turn.role.as_deref(), Some("system" | "developer"))
}
