//! Whole configuration documents: a bare plugin object, an APISIX route
//! JSON, a `{"plugins": …}` wrapper, or a config-sync YAML (`version: "1"`,
//! `routes:`), as accepted by `ai-proxy check` and `ai-proxy serve`.

use ai_proxy::config::{
    AI_PROXY, AI_PROXY_MULTI, ConfigError, ConfigErrorKind, ConfigErrors, Consumer, PluginConfig,
    join_path as join, parse_json,
};
use serde_json::{Map, Value};

use super::vars::Vars;
use super::yaml::parse_yaml;

/// Which shape a [`Document`] had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentForm {
    /// A bare `ai-proxy` / `ai-proxy-multi` object.
    Plugin,
    /// `{"plugins": {...}}` without route fields.
    PluginsWrapper,
    /// An APISIX route object (`uri`, `methods`, `plugins`, …).
    Route,
    /// A JSON array of route objects.
    RouteList,
    /// An APISIX config-sync document (`version: "1"`, `routes:`).
    ConfigSync,
}

/// One route carrying an AI plugin. `Debug` shows the other plugins by
/// name only (their configuration may hold credentials).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct RouteConfig {
    /// JSON path of the route object in the document (`routes[0]`; empty
    /// for a single route or a bare plugin).
    pub path: String,
    /// `id`, when given (a string or an integer, kept as text).
    pub id: Option<String>,
    /// `priority` (default 0): among routes that match, the highest wins;
    /// equal priorities keep document order.
    pub priority: i64,
    /// `uri` and `uris`: exact paths, or prefixes ending in `/*`. Empty
    /// means every path (bare plugin documents).
    pub uris: Vec<String>,
    /// `methods` (upper case); empty means every method.
    pub methods: Vec<String>,
    /// `vars`: APISIX match conditions (`[["post_arg.model", "==", "gpt-4"]]`),
    /// compiled.
    pub vars: Option<Vars>,
    /// The AI plugin of this route.
    pub plugin: PluginConfig,
    /// JSON path of the plugin object in the document
    /// (`routes[0].plugins.ai-proxy`; empty for a bare plugin).
    pub plugin_path: String,
    /// The route's other plugins, by name, with their configuration as
    /// written (in document order). A gateway runs them or refuses the
    /// route (see `PluginRegistry`).
    pub plugins: Vec<(String, Value)>,
}

impl std::fmt::Debug for RouteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plugins: Vec<&str> = self.plugins.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("RouteConfig")
            .field("path", &self.path)
            .field("id", &self.id)
            .field("priority", &self.priority)
            .field("uris", &self.uris)
            .field("methods", &self.methods)
            .field("vars", &self.vars)
            .field("plugin", &self.plugin)
            .field("plugin_path", &self.plugin_path)
            .field("plugins", &plugins)
            .finish()
    }
}

impl RouteConfig {
    /// JSON path of the route's plugin `name` (`routes[0].plugins.key-auth`).
    pub fn plugin_path_of(&self, name: &str) -> String {
        join(&join(&self.path, "plugins"), name)
    }
}

/// A parsed, validated configuration document.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Document {
    /// The document's shape.
    pub form: DocumentForm,
    /// Every route that has an AI plugin, in document order (one route
    /// without `uri` for the plugin and wrapper forms).
    pub routes: Vec<RouteConfig>,
    /// `consumers:` of a config-sync document (username, `key-auth` key,
    /// per-consumer plugins); empty for the other forms.
    pub consumers: Vec<Consumer>,
}

impl Document {
    /// Parses JSON or YAML text: JSON when the first
    /// non-blank character is `{` or `[`, YAML otherwise. Collects every
    /// problem of every route, each with its full JSON path.
    pub fn parse(text: &str) -> Result<Self, ConfigErrors> {
        let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        if trimmed.is_empty() {
            return Err(ConfigError::new(
                "",
                ConfigErrorKind::Missing,
                "empty document: expected a plugin or route JSON object, or a config-sync YAML \
                 (version: \"1\", routes: …)",
            )
            .into());
        }
        let value = if trimmed.starts_with(['{', '[']) {
            parse_json(text)?
        } else {
            parse_yaml(text)?
        };
        Self::from_value(&value)
    }

    /// Validates an already-parsed document.
    pub fn from_value(value: &Value) -> Result<Self, ConfigErrors> {
        match value {
            Value::Array(items) => {
                let routes = routes(items, "")?;
                Ok(Self {
                    form: DocumentForm::RouteList,
                    routes,
                    consumers: Vec::new(),
                })
            }
            Value::Object(map) if map.contains_key("routes") || map.contains_key("version") => {
                config_sync(map).map(|(routes, consumers)| Self {
                    form: DocumentForm::ConfigSync,
                    routes,
                    consumers,
                })
            }
            Value::Object(map) if map.contains_key("plugins") => {
                let form = if map.len() == 1 {
                    DocumentForm::PluginsWrapper
                } else {
                    DocumentForm::Route
                };
                let route = route(map, "")?;
                Ok(Self {
                    form,
                    routes: vec![route],
                    consumers: Vec::new(),
                })
            }
            Value::Object(_) => {
                let plugin = PluginConfig::from_value(value, "")?;
                Ok(Self {
                    form: DocumentForm::Plugin,
                    routes: vec![RouteConfig {
                        path: String::new(),
                        id: None,
                        priority: 0,
                        uris: Vec::new(),
                        methods: Vec::new(),
                        vars: None,
                        plugin,
                        plugin_path: String::new(),
                        plugins: Vec::new(),
                    }],
                    consumers: Vec::new(),
                })
            }
            _ => Err(ConfigError::new(
                "",
                ConfigErrorKind::Type,
                "expected a JSON object: an ai-proxy / ai-proxy-multi plugin, a route with `plugins`, \
                 or a config-sync document with `routes`",
            )
            .into()),
        }
    }
}

/// A config-sync document's routes and consumers.
fn config_sync(
    map: &Map<String, Value>,
) -> Result<(Vec<RouteConfig>, Vec<Consumer>), ConfigErrors> {
    let mut errors = Vec::new();
    match map.get("version") {
        Some(Value::String(s)) if s == "1" => {}
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(_) => errors.push(ConfigError::new(
            "version",
            ConfigErrorKind::Invalid,
            "must be \"1\" (the only config-sync format version)",
        )),
        None => errors.push(ConfigError::new(
            "version",
            ConfigErrorKind::Missing,
            "is required: version: \"1\"",
        )),
    }
    let routes = match map.get("routes") {
        Some(Value::Array(items)) => match routes(items, "routes") {
            Ok(r) => r,
            Err(e) => {
                errors.extend(e);
                Vec::new()
            }
        },
        Some(_) => {
            errors.push(ConfigError::new(
                "routes",
                ConfigErrorKind::Type,
                "must be a list of routes",
            ));
            Vec::new()
        }
        None => {
            errors.push(ConfigError::new(
                "routes",
                ConfigErrorKind::Missing,
                "is required: a list of routes",
            ));
            Vec::new()
        }
    };
    let consumers = match map.get("consumers") {
        None | Some(Value::Null) => Vec::new(),
        Some(list) => Consumer::list_from_value(list, "consumers").unwrap_or_else(|e| {
            errors.extend(e);
            Vec::new()
        }),
    };
    if errors.is_empty() {
        Ok((routes, consumers))
    } else {
        Err(ConfigErrors::new(errors))
    }
}

/// Every route of a list that has an AI plugin; routes without one are
/// skipped, but a list with none at all is an error.
fn routes(items: &[Value], path: &str) -> Result<Vec<RouteConfig>, ConfigErrors> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Value::Object(map) = item else {
            errors.push(ConfigError::new(
                p,
                ConfigErrorKind::Type,
                "must be a route object",
            ));
            continue;
        };
        let has_ai = map
            .get("plugins")
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key(AI_PROXY) || p.contains_key(AI_PROXY_MULTI));
        if !has_ai && map.get("plugins").is_none_or(Value::is_object) {
            continue;
        }
        match route(map, &p) {
            Ok(r) => out.push(r),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() && out.is_empty() {
        errors.push(ConfigError::new(
            path,
            ConfigErrorKind::Missing,
            "no route has an ai-proxy or ai-proxy-multi plugin",
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ConfigErrors::new(errors))
    }
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE",
];

fn route(map: &Map<String, Value>, path: &str) -> Result<RouteConfig, ConfigErrors> {
    let mut errors = Vec::new();
    let mut err = |p: String, kind, m: &str| errors.push(ConfigError::new(p, kind, m));

    let id = match map.get("id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            err(
                join(path, "id"),
                ConfigErrorKind::Type,
                "must be a string or an integer",
            );
            None
        }
    };
    let priority = match map.get("priority").map(|v| (v, v.as_i64())) {
        None => 0,
        Some((_, Some(n))) => n,
        Some((_, None)) => {
            err(
                join(path, "priority"),
                ConfigErrorKind::Type,
                "must be an integer (higher wins among matching routes)",
            );
            0
        }
    };
    let mut uris = Vec::new();
    match map.get("uri") {
        None => {}
        Some(Value::String(s)) if s.starts_with('/') => uris.push(s.clone()),
        Some(_) => err(
            join(path, "uri"),
            ConfigErrorKind::Invalid,
            "must be a path starting with `/` (`/*` suffix for a prefix match)",
        ),
    }
    match map.get("uris") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, u) in items.iter().enumerate() {
                match u {
                    Value::String(s) if s.starts_with('/') => uris.push(s.clone()),
                    _ => err(
                        format!("{}[{i}]", join(path, "uris")),
                        ConfigErrorKind::Invalid,
                        "must be a path starting with `/`",
                    ),
                }
            }
        }
        Some(_) => err(
            join(path, "uris"),
            ConfigErrorKind::Type,
            "must be an array of paths",
        ),
    }
    let mut methods = Vec::new();
    match map.get("methods") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, m) in items.iter().enumerate() {
                match m.as_str() {
                    Some(s) if METHODS.contains(&s) => methods.push(s.to_owned()),
                    _ => err(
                        format!("{}[{i}]", join(path, "methods")),
                        ConfigErrorKind::Invalid,
                        "must be an upper-case HTTP method (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, …)",
                    ),
                }
            }
        }
        Some(_) => err(
            join(path, "methods"),
            ConfigErrorKind::Type,
            "must be an array of methods",
        ),
    }
    let vars = match map.get("vars").map(Vars::compile) {
        None => None,
        Some(Ok(vars)) => Some(vars),
        Some(Err(e)) => {
            errors.push(ConfigError::new(
                format!("{}{}", join(path, "vars"), e.path),
                ConfigErrorKind::Invalid,
                e.message,
            ));
            None
        }
    };
    let plugins_path = join(path, "plugins");
    let others: Vec<(String, Value)> = match map.get("plugins") {
        Some(Value::Object(plugins)) => plugins
            .iter()
            .filter(|(name, _)| *name != AI_PROXY && *name != AI_PROXY_MULTI)
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        _ => Vec::new(),
    };
    let plugin = match map.get("plugins") {
        Some(Value::Object(plugins)) => {
            let single = plugins.get(AI_PROXY);
            let multi = plugins.get(AI_PROXY_MULTI);
            match (single, multi) {
                (Some(_), Some(_)) => {
                    errors.push(ConfigError::new(
                        plugins_path.clone(),
                        ConfigErrorKind::Invalid,
                        "has both ai-proxy and ai-proxy-multi; use one (ai-proxy-multi runs first and the other is dead config)",
                    ));
                    None
                }
                (Some(p), None) => Some((AI_PROXY, p)),
                (None, Some(p)) => Some((AI_PROXY_MULTI, p)),
                (None, None) => {
                    errors.push(ConfigError::new(
                        plugins_path.clone(),
                        ConfigErrorKind::Missing,
                        "has neither ai-proxy nor ai-proxy-multi",
                    ));
                    None
                }
            }
        }
        Some(_) => {
            errors.push(ConfigError::new(
                plugins_path.clone(),
                ConfigErrorKind::Type,
                "must be an object of plugin name → configuration",
            ));
            None
        }
        None => {
            errors.push(ConfigError::new(
                plugins_path.clone(),
                ConfigErrorKind::Missing,
                "is required",
            ));
            None
        }
    };
    let plugin_path = plugin.map(|(name, _)| join(&plugins_path, name));
    let plugin = plugin.and_then(|(name, value)| {
        let p = join(&plugins_path, name);
        PluginConfig::from_named_value(name, value, &p)
            .map_err(|e| errors.extend(e))
            .ok()
    });
    match (plugin, plugin_path) {
        (Some(plugin), Some(plugin_path)) if errors.is_empty() => Ok(RouteConfig {
            path: path.to_owned(),
            id,
            priority,
            uris,
            methods,
            vars,
            plugin,
            plugin_path,
            plugins: others,
        }),
        _ => Err(ConfigErrors::new(errors)),
    }
}
