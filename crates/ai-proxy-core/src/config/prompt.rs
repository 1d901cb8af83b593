//! The configuration model of APISIX's AI pipeline plugins that run next to
//! `ai-proxy`: `ai-prompt-decorator`, `ai-prompt-template`,
//! `ai-prompt-guard` and `ai-aws-content-moderation`.
//!
//! Field names, defaults and limits are APISIX master's
//! (`apisix/plugins/ai-prompt-*.lua`, `ai-aws-content-moderation.lua`).
//! These are the validated values; what runs them (regexes, templates,
//! Comprehend calls) is `ai-proxy-prompt`, which also refuses what only a
//! compile step can see (an invalid regex, a placeholder it cannot fill).
//!
//! ```
//! use ai_proxy_core::config::{PromptDecoratorConfig, PromptRole};
//!
//! let config = PromptDecoratorConfig::from_json(
//!     r#"{"prepend": [{"role": "system", "content": "Answer briefly."}]}"#,
//! ).unwrap();
//! assert_eq!(config.prepend[0].role, PromptRole::System);
//! assert!(config.append.is_empty());
//!
//! let errors = PromptDecoratorConfig::from_json(r#"{"prepend": [{"role": "tool", "content": ""}]}"#)
//!     .unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "prepend[0].role: must be one of: system, user, assistant, got `tool`\n\
//!      prepend[0].content: must not be empty",
//! );
//! ```

use serde_json::{Map, Value};
use url::Url;

use crate::secret::Secret;

/// Plugin name of the prompt decorator.
pub const AI_PROMPT_DECORATOR: &str = "ai-prompt-decorator";
/// Plugin name of the prompt template.
pub const AI_PROMPT_TEMPLATE: &str = "ai-prompt-template";
/// Plugin name of the prompt guard.
pub const AI_PROMPT_GUARD: &str = "ai-prompt-guard";
/// Plugin name of AWS Comprehend content moderation.
pub const AI_AWS_CONTENT_MODERATION: &str = "ai-aws-content-moderation";

/// The role of a configured message (APISIX's enum: `system`, `user`,
/// `assistant`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PromptRole {
    /// `system`.
    System,
    /// `user`.
    User,
    /// `assistant`.
    Assistant,
}

impl PromptRole {
    /// Every role, in APISIX's order.
    pub const ALL: [PromptRole; 3] = [PromptRole::System, PromptRole::User, PromptRole::Assistant];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PromptRole::System => "system",
            PromptRole::User => "user",
            PromptRole::Assistant => "assistant",
        }
    }
}

/// One configured message: `{"role": …, "content": …}` (content non-empty).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PromptMessage {
    /// `role`.
    pub role: PromptRole,
    /// `content`.
    pub content: String,
}

impl PromptMessage {
    /// A message from its parts.
    pub fn new(role: PromptRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// `ai-prompt-decorator` (priority 1070, rewrite phase): messages put
/// before and after the client's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PromptDecoratorConfig {
    /// `prepend` (absent = empty; at least one of `prepend` / `append`
    /// must be given).
    pub prepend: Vec<PromptMessage>,
    /// `append`.
    pub append: Vec<PromptMessage>,
    /// `max_req_body_size` (bytes, default 64 MiB).
    pub max_req_body_size: u64,
}

/// `ai-prompt-template` (priority 1071, rewrite phase): named request
/// bodies the client fills with variables.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PromptTemplateConfig {
    /// `templates` (at least one).
    pub templates: Vec<TemplateConfig>,
    /// `max_req_body_size` (bytes, default 64 MiB).
    pub max_req_body_size: u64,
}

/// One `templates[]` entry.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TemplateConfig {
    /// `name` (non-empty); the client selects it with `template_name`.
    pub name: String,
    /// `template`: the request body to send, `{{var}}` placeholders in its
    /// strings. `model` (a non-empty string) and `messages` (at least one
    /// `{role, content}`) are checked as APISIX does; other members are
    /// sent as they are.
    pub template: Map<String, Value>,
}

/// `ai-prompt-guard` (priority 1072, access phase): regex allow and deny
/// lists over the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PromptGuardConfig {
    /// `max_req_body_size` (bytes, default 64 MiB).
    pub max_req_body_size: u64,
    /// `match_all_roles` (default false: only `user` messages).
    pub match_all_roles: bool,
    /// `match_all_conversation_history` (default false: only the last
    /// message).
    pub match_all_conversation_history: bool,
    /// `allow_patterns`: when any is given, one must match.
    pub allow_patterns: Vec<String>,
    /// `deny_patterns`: none may match.
    pub deny_patterns: Vec<String>,
    /// `fail_mode` (default `skip`): what a request that is not an AI
    /// request gets.
    pub fail_mode: FailMode,
}

/// `fail_mode` of APISIX's AI plugins (`ai-protocols/binding.lua`): what a
/// request the plugin cannot read (not JSON, no AI protocol) gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailMode {
    /// `skip` (default): pass it through unchecked.
    #[default]
    Skip,
    /// `warn`: pass it through unchecked and log a warning.
    Warn,
    /// `error`: reject it.
    Error,
}

impl FailMode {
    /// Every mode, in APISIX's order.
    pub const ALL: [FailMode; 3] = [FailMode::Skip, FailMode::Warn, FailMode::Error];

    /// The config value.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailMode::Skip => "skip",
            FailMode::Warn => "warn",
            FailMode::Error => "error",
        }
    }
}

/// `ai-aws-content-moderation` (priority 1031, access phase, after
/// `ai-proxy` picked the instance): the request's text scored by AWS
/// Comprehend `DetectToxicContent`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AwsContentModerationConfig {
    /// `comprehend`: credentials and where to call.
    pub comprehend: ComprehendConfig,
    /// `moderation_categories`: a threshold per category; a label scoring
    /// above its threshold denies.
    pub moderation_categories: Vec<(ToxicCategory, f64)>,
    /// `moderation_threshold` (default 0.5): a toxicity above it denies.
    pub moderation_threshold: f64,
    /// `check_request` (default true).
    pub check_request: bool,
    /// `request_check_roles` (default all four).
    pub request_check_roles: RoleSet,
    /// `request_check_mode` (default `all`).
    pub request_check_mode: CheckMode,
    /// `request_check_length_limit`: bytes per Comprehend text segment
    /// (4..=1024, default 1000).
    pub request_check_length_limit: usize,
    /// `deny_code` (200..=599, default 200: the refusal reads as a normal
    /// completion in client SDKs).
    pub deny_code: u16,
    /// `deny_message`: the refusal text (default: the reason).
    pub deny_message: Option<String>,
    /// `timeout` of a Comprehend call (ms, default 10 000).
    pub timeout_ms: u64,
    /// `keepalive` (default true).
    pub keepalive: bool,
    /// `keepalive_timeout` (ms, ≥ 1000, default 60 000).
    pub keepalive_timeout_ms: u64,
    /// `fail_mode` (default `skip`).
    pub fail_mode: FailMode,
}

/// `comprehend`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComprehendConfig {
    /// `access_key_id`.
    pub access_key_id: Secret,
    /// `secret_access_key`.
    pub secret_access_key: Secret,
    /// `session_token` of temporary credentials (APISIX reads it though its
    /// schema does not list it).
    pub session_token: Option<Secret>,
    /// `region`.
    pub region: String,
    /// `endpoint` (`http(s)://host[:port]`; APISIX uses only scheme, host
    /// and port): default `https://comprehend.{region}.amazonaws.com`.
    pub endpoint: Option<Url>,
    /// `ssl_verify` (default true).
    pub ssl_verify: bool,
}

/// A Comprehend toxicity label APISIX lets a threshold be set for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ToxicCategory {
    /// `PROFANITY`.
    Profanity,
    /// `HATE_SPEECH`.
    HateSpeech,
    /// `INSULT`.
    Insult,
    /// `HARASSMENT_OR_ABUSE`.
    HarassmentOrAbuse,
    /// `SEXUAL`.
    Sexual,
    /// `VIOLENCE_OR_THREAT`.
    ViolenceOrThreat,
}

impl ToxicCategory {
    /// Every category, in APISIX's order.
    pub const ALL: [ToxicCategory; 6] = [
        ToxicCategory::Profanity,
        ToxicCategory::HateSpeech,
        ToxicCategory::Insult,
        ToxicCategory::HarassmentOrAbuse,
        ToxicCategory::Sexual,
        ToxicCategory::ViolenceOrThreat,
    ];

    /// Comprehend's label name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ToxicCategory::Profanity => "PROFANITY",
            ToxicCategory::HateSpeech => "HATE_SPEECH",
            ToxicCategory::Insult => "INSULT",
            ToxicCategory::HarassmentOrAbuse => "HARASSMENT_OR_ABUSE",
            ToxicCategory::Sexual => "SEXUAL",
            ToxicCategory::ViolenceOrThreat => "VIOLENCE_OR_THREAT",
        }
    }
}

/// Which message roles moderation reads (`request_check_roles`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RoleSet {
    /// `user`.
    pub user: bool,
    /// `tool`: tool results.
    pub tool: bool,
    /// `system` (with `developer`): read on every request, whatever the
    /// mode.
    pub system: bool,
    /// `assistant`: client-supplied history.
    pub assistant: bool,
}

impl RoleSet {
    /// Every role (APISIX's default).
    pub const ALL: RoleSet = RoleSet {
        user: true,
        tool: true,
        system: true,
        assistant: true,
    };

    /// No role.
    pub const NONE: RoleSet = RoleSet {
        user: false,
        tool: false,
        system: false,
        assistant: false,
    };

    /// This set with `role` (`user`, `tool`, `system` or `assistant`)
    /// added; any other name adds nothing.
    pub fn with(mut self, role: &str) -> Self {
        match role {
            "user" => self.user = true,
            "tool" => self.tool = true,
            "system" => self.system = true,
            "assistant" => self.assistant = true,
            _ => {}
        }
        self
    }

    /// Whether a message of `role` (as the client wrote it) is a selected
    /// turn role (`user`, `tool`, `assistant`; `system` is not a turn).
    pub fn has_turn_role(&self, role: &str) -> bool {
        match role {
            "user" => self.user,
            "tool" => self.tool,
            "assistant" => self.assistant,
            _ => false,
        }
    }

    /// Whether any turn role is selected.
    pub fn any_turn(&self) -> bool {
        self.user || self.tool || self.assistant
    }
}

/// `request_check_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckMode {
    /// `last`: only the latest consecutive block of selected-role messages.
    Last,
    /// `all` (default): every selected-role message.
    #[default]
    All,
}
