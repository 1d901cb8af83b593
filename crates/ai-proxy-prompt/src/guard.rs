//! `ai-prompt-guard`: allow and deny patterns over the prompt
//! (`apisix/plugins/ai-prompt-guard.lua`).
//!
//! What is checked, as APISIX: the conversation's messages that have text
//! (the protocol's system field first, as a `system` message); only the
//! last of them unless `match_all_conversation_history` (the Responses
//! API's `instructions` and `input` always all); only `user` messages
//! unless `match_all_roles`; their texts joined with spaces. When
//! `allow_patterns` are set one must match (`Request doesn't match allow
//! patterns`); then no `deny_patterns` may (`Request contains prohibited
//! content`). A body that is not JSON, or JSON of no AI protocol, gets
//! `fail_mode` (`skip` lets it through).
//!
//! Patterns are matched as `ngx.re.find(text, pattern, "jou")` does: case
//! sensitive (write `(?i)` for case-insensitive), UTF-8 aware, unanchored,
//! `\d`, `\w`, `\s` and `\b` ASCII as in PCRE without `PCRE_UCP` (see
//! [`pattern`](crate::pattern)). They are compiled once, with the `regex`
//! crate: matching is linear in the text whatever the pattern (no
//! backtracking), and each compiled pattern is bounded in size. Differences
//! from PCRE, each refused when the route is loaded rather than at request
//! time: no look-around, no backreferences.

use std::fmt;

use ai_proxy_core::Protocol;
use ai_proxy_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, FailMode, PromptGuardConfig,
};
use ai_proxy_core::prepare::BodyError;
use regex::{Regex, RegexBuilder, RegexSetBuilder};
use serde_json::Value;

use crate::body::ClientBody;
use crate::conversation::Conversation;
use crate::error::PromptError;
use crate::pattern::pcre_ascii;

/// Largest compiled form of one pattern (bytes).
pub const MAX_PATTERN_SIZE: usize = 1 << 20;
/// Largest compiled form of all allow (or all deny) patterns together.
const MAX_SET_SIZE: usize = 8 << 20;

/// What the guard decided about a request it let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardOutcome {
    /// The prompt was checked and passed.
    Passed,
    /// Nothing to check (no message of a checked role).
    NothingToCheck,
    /// Not an AI request; `fail_mode` let it through (`warn`: the caller
    /// should log it).
    Skipped(FailMode),
}

/// A compiled `ai-prompt-guard`.
#[derive(Clone)]
pub struct PromptGuard {
    allow: Option<Patterns>,
    deny: Option<Patterns>,
    match_all_roles: bool,
    match_all_conversation_history: bool,
    fail_mode: FailMode,
    max_req_body_size: u64,
}

impl fmt::Debug for PromptGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptGuard")
            .field(
                "allow_patterns",
                &self.allow.as_ref().map_or(0, Patterns::len),
            )
            .field(
                "deny_patterns",
                &self.deny.as_ref().map_or(0, Patterns::len),
            )
            .field("match_all_roles", &self.match_all_roles)
            .field(
                "match_all_conversation_history",
                &self.match_all_conversation_history,
            )
            .field("fail_mode", &self.fail_mode)
            .finish()
    }
}

impl PromptGuard {
    /// Validates and compiles an `ai-prompt-guard` plugin object.
    pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
        Self::compile(&PromptGuardConfig::from_value(value)?)
    }

    /// Compiles a validated config; a pattern that does not compile is
    /// refused with its path (`deny_patterns[1]: …`).
    pub fn compile(config: &PromptGuardConfig) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let allow = patterns(&config.allow_patterns, "allow_patterns", &mut errors);
        let deny = patterns(&config.deny_patterns, "deny_patterns", &mut errors);
        if !errors.is_empty() {
            return Err(ConfigErrors::new(errors));
        }
        Ok(Self {
            allow,
            deny,
            match_all_roles: config.match_all_roles,
            match_all_conversation_history: config.match_all_conversation_history,
            fail_mode: config.fail_mode,
            max_req_body_size: config.max_req_body_size,
        })
    }

    /// Checks the request to `path` with `body`.
    pub fn check(&self, path: &str, body: &[u8]) -> Result<GuardOutcome, PromptError> {
        let body = match ClientBody::read(body, self.max_req_body_size) {
            Ok(body) => body,
            Err(BodyError::InvalidJson { reason }) => {
                return self.unsupported(PromptError::GuardNotJson { reason });
            }
            // Empty or over `max_req_body_size`.
            Err(_) => return Err(PromptError::GuardNoBody),
        };
        let protocol = body.protocol(path);
        let conversation = match protocol {
            None | Some(Protocol::Passthrough) => None,
            Some(p) => Conversation::read(&body, p).map_err(|e| BodyError::InvalidJson {
                reason: format!("malformed JSON at byte {}", e.offset),
            })?,
        };
        let Some(conversation) = conversation else {
            return self.unsupported(PromptError::GuardNotRecognized);
        };
        let Some(text) = self.text_to_check(&conversation) else {
            return Ok(GuardOutcome::NothingToCheck);
        };
        if let Some(allow) = &self.allow
            && !allow.is_match(&text)
        {
            return Err(PromptError::NotAllowed);
        }
        if let Some(deny) = &self.deny
            && deny.is_match(&text)
        {
            return Err(PromptError::Prohibited);
        }
        Ok(GuardOutcome::Passed)
    }

    fn unsupported(&self, refusal: PromptError) -> Result<GuardOutcome, PromptError> {
        match self.fail_mode {
            FailMode::Error => Err(refusal),
            mode => Ok(GuardOutcome::Skipped(mode)),
        }
    }

    /// The text APISIX checks, `None` when no message qualifies.
    fn text_to_check(&self, c: &Conversation<'_>) -> Option<String> {
        let responses = c.protocol == Some(Protocol::OpenAiResponses);
        // APISIX's get_messages: the system field as a message, then every
        // turn that has text; a Responses API item without a role is the
        // user's.
        let system = (!c.system.is_empty()).then_some(("system", c.system.as_slice()));
        let turns = c.turns.iter().filter(|t| !t.texts.is_empty()).map(|t| {
            let role = match &t.role {
                Some(r) => r.as_ref(),
                None if responses => "user",
                None => "",
            };
            (role, t.texts.as_slice())
        });
        let mut messages: Vec<_> = system.into_iter().chain(turns).collect();
        if !responses && !self.match_all_conversation_history {
            let last = messages.pop();
            messages.clear();
            messages.extend(last);
        }
        if !self.match_all_roles {
            messages.retain(|(role, _)| *role == "user");
        }
        if messages.is_empty() {
            return None;
        }
        let mut text = String::new();
        for (i, (_, texts)) in messages.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            for (j, t) in texts.iter().enumerate() {
                if j > 0 {
                    text.push(' ');
                }
                text.push_str(t);
            }
        }
        Some(text)
    }
}

/// A list of patterns, one regex each: a list matches when one of them
/// does.
///
/// Not a `RegexSet`: a set searches with one prefilter over every
/// pattern's literals, and single digits (`\d`) or case variants (`(?i)`)
/// make it fire on most bytes of a prompt, five to nine times slower than
/// the patterns one by one, each with its own prefilter (a fast substring
/// search where it has a literal).
#[derive(Clone, Debug)]
struct Patterns(Vec<Regex>);

impl Patterns {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_match(&self, text: &str) -> bool {
        self.0.iter().any(|r| r.is_match(text))
    }
}

/// Compiles `list`, each pattern on its own so an error names it; the
/// whole list is also compiled once as a set, to bound its total size.
fn patterns(list: &[String], field: &str, errors: &mut Vec<ConfigError>) -> Option<Patterns> {
    if list.is_empty() {
        return None;
    }
    let compile = |p: &str| RegexBuilder::new(p).size_limit(MAX_PATTERN_SIZE).build();
    let mut compiled = Vec::with_capacity(list.len());
    let mut failed = false;
    for (i, pattern) in list.iter().enumerate() {
        match compile(&pcre_ascii(pattern)) {
            Ok(regex) => compiled.push(regex),
            Err(e) => {
                // The error as written in the config (its positions are the
                // config's) when the pattern as written has one.
                let e = compile(pattern).err().unwrap_or(e);
                errors.push(ConfigError::new(
                    format!("{field}[{i}]"),
                    ConfigErrorKind::Invalid,
                    pattern_error(&e),
                ));
                failed = true;
            }
        }
    }
    if failed {
        return None;
    }
    let ascii = list.iter().map(|p| pcre_ascii(p));
    match RegexSetBuilder::new(ascii).size_limit(MAX_SET_SIZE).build() {
        Ok(_) => Some(Patterns(compiled)),
        Err(e) => {
            errors.push(ConfigError::new(
                field,
                ConfigErrorKind::Invalid,
                pattern_error(&e),
            ));
            None
        }
    }
}

fn pattern_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("the pattern compiles to more than {limit} bytes; split it or simplify it")
        }
        // The parser's text draws a caret under the spot over several
        // lines: keep its verdict and where it points.
        regex::Error::Syntax(text) => {
            let what = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(text);
            let at = text
                .lines()
                .find(|l| l.trim_start().starts_with('^'))
                .and_then(|l| l.find('^'))
                .map(|column| column.saturating_sub(4));
            match at {
                Some(at) => format!("invalid pattern: {what} (at character {at})"),
                None => format!("invalid pattern: {what}"),
            }
        }
        other => format!("invalid pattern: {other}"),
    }
}
