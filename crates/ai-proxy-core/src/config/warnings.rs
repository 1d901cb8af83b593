//! Configurations that load, but that an upstream will most likely refuse:
//! reported as warnings (`ai-proxy check` prints them, `serve` logs them
//! once at start), never as errors, since APISIX accepts them too.

use super::error::{ConfigError, ConfigErrorKind, join_path as join};
use super::model::{AiProxyConfig, AiProxyMultiConfig, UpstreamConfig};
use crate::provider::Provider;

impl UpstreamConfig {
    /// Settings that will likely fail at request time, with paths relative
    /// to the plugin (or instance) object.
    ///
    /// ```
    /// use ai_proxy_core::config::AiProxyConfig;
    ///
    /// let c = AiProxyConfig::from_json(r#"{"provider":"azure-openai","auth":{},
    ///     "override":{"endpoint":"https://r.openai.azure.com/openai/deployments/d/chat/completions"}}"#)
    ///     .unwrap();
    /// let warnings = c.warnings();
    /// assert_eq!(warnings[0].path, "override.endpoint");
    /// assert!(warnings[0].message.starts_with("has no `api-version` query parameter"));
    /// ```
    pub fn warnings(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        if self.provider == Provider::AzureOpenAi
            && let Some(endpoint) = &self.overrides.endpoint
        {
            let url = &endpoint.url;
            let versioned = url.query_pairs().any(|(k, _)| k == "api-version");
            // The v1 API (`/openai/v1/…`) needs no api-version.
            if !versioned && !url.path().contains("/openai/v1/") {
                out.push(ConfigError::new(
                    "override.endpoint",
                    ConfigErrorKind::Warning,
                    "has no `api-version` query parameter: Azure OpenAI answers 404 without one; \
                     add e.g. ?api-version=2024-10-21 (or use the /openai/v1/ API)",
                ));
            }
        }
        out
    }
}

impl AiProxyConfig {
    /// Settings that will likely fail at request time (see
    /// [`UpstreamConfig::warnings`]).
    pub fn warnings(&self) -> Vec<ConfigError> {
        self.upstream.warnings()
    }
}

impl AiProxyMultiConfig {
    /// Every instance's warnings, with `instances[i]` paths.
    pub fn warnings(&self) -> Vec<ConfigError> {
        self.instances
            .iter()
            .enumerate()
            .flat_map(|(i, instance)| {
                let prefix = join("instances", &format!("[{i}]"));
                instance
                    .upstream
                    .warnings()
                    .into_iter()
                    .map(move |w| w.prefixed(&prefix))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AZURE: &str = "https://r.openai.azure.com/openai/deployments/d/chat/completions";

    fn azure(endpoint: &str) -> Vec<ConfigError> {
        let text = format!(
            r#"{{"provider":"azure-openai","auth":{{}},"override":{{"endpoint":"{endpoint}"}}}}"#
        );
        AiProxyConfig::from_json(&text).unwrap().warnings()
    }

    #[test]
    fn azure_without_api_version_is_a_warning() {
        assert_eq!(azure(AZURE).len(), 1);
        assert!(azure(&format!("{AZURE}?api-version=2024-10-21")).is_empty());
        assert!(azure("https://r.openai.azure.com/openai/v1/chat/completions").is_empty());
    }

    #[test]
    fn multi_warnings_carry_the_instance_path() {
        let text = format!(
            r#"{{"instances":[{{"name":"a","provider":"openai","weight":1,"auth":{{}}}},
            {{"name":"b","provider":"azure-openai","weight":1,"auth":{{}},"override":{{"endpoint":"{AZURE}"}}}}]}}"#
        );
        let warnings = AiProxyMultiConfig::from_json(&text).unwrap().warnings();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "instances[1].override.endpoint");
        assert_eq!(warnings[0].kind, ConfigErrorKind::Warning);
    }

    #[test]
    fn other_providers_have_none() {
        let c = AiProxyConfig::from_json(r#"{"provider":"openai","auth":{}}"#).unwrap();
        assert!(c.warnings().is_empty());
    }
}
