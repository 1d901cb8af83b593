//! Every real provider recording in `../shared/fixtures/wire/` (skipped when
//! that directory is absent) observed through the exchange, checked
//! against values read from each file (cross-checked with an independent
//! WHATWG-parse + JSON-decode script), fed whole and in several chunkings,
//! with and without text (the fast path must agree).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ai_proxy_core::context::RequestContext;
use ai_proxy_core::exchange::Exchange;
use ai_proxy_core::{Metrics, Protocol};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

enum Text {
    Exact(&'static str),
    /// (length in chars, prefix)
    Starts(usize, &'static str),
}

struct Case {
    file: &'static str,
    protocol: &'static str,
    model: Option<&'static str>,
    /// (prompt, completion, total)
    tokens: Option<(u64, u64, u64)>,
    events: Option<u64>,
    done: bool,
    text: Text,
}

const CASES: &[Case] = &[
    Case {
        file: "sse/anthropic-messages-stream-basic-opus.sse",
        protocol: "anthropic-messages",
        model: Some("claude-3-opus-latest"),
        tokens: Some((11, 6, 17)),
        events: Some(9),
        done: true,
        text: Text::Exact("Hello there!"),
    },
    Case {
        file: "sse/anthropic-messages-stream-compaction-iterations-usage.sse",
        protocol: "anthropic-messages",
        model: Some("claude-sonnet-4-6"),
        tokens: Some((181, 8, 189)),
        events: Some(12),
        done: true,
        text: Text::Exact("Hello! 👋"),
    },
    Case {
        file: "sse/anthropic-messages-stream-max-tokens-padded-json.sse",
        protocol: "anthropic-messages",
        model: Some("claude-3-7-sonnet-20250219"),
        tokens: Some((450, 124, 574)),
        events: Some(16),
        done: true,
        text: Text::Starts(135, "I'll create a comprehensive tax guide fo"),
    },
    Case {
        file: "sse/anthropic-messages-stream-sonnet45-padded.sse",
        protocol: "anthropic-messages",
        model: Some("claude-sonnet-4-5-20250929"),
        tokens: Some((20, 5, 25)),
        events: Some(7),
        done: true,
        text: Text::Exact("2"),
    },
    Case {
        file: "sse/anthropic-messages-stream-thinking.sse",
        protocol: "anthropic-messages",
        model: Some("claude-sonnet-4-20250514"),
        tokens: Some((43, 282, 325)),
        events: Some(118),
        done: true,
        text: Text::Starts(1021, "Here are the basic steps for safely cros"),
    },
    Case {
        file: "sse/anthropic-messages-stream-tool-use-sonnet4.sse",
        protocol: "anthropic-messages",
        model: Some("claude-sonnet-4-20250514"),
        tokens: Some((377, 65, 442)),
        events: Some(15),
        done: true,
        text: Text::Exact("I'll check the current weather in Paris for you."),
    },
    Case {
        file: "sse/anthropic-messages-stream-web-search-server-tool.sse",
        protocol: "anthropic-messages",
        model: Some("claude-sonnet-4-20250514"),
        tokens: Some((31772, 644, 32416)),
        events: Some(119),
        done: true,
        text: Text::Starts(1792, "Let me search for more specific breaking"),
    },
    Case {
        file: "sse/azure-openai-chat-stream-prompt-filter-first-chunk.sse",
        protocol: "openai-chat",
        model: Some("gpt-4o-2024-08-06"),
        tokens: None,
        events: Some(7),
        done: true,
        text: Text::Exact("Hallo Welt!"),
    },
    Case {
        file: "sse/deepseek-chat-stream-tool-call-cache-hit.sse",
        protocol: "openai-chat",
        model: Some("deepseek-chat"),
        tokens: Some((161, 25, 186)),
        events: Some(21),
        done: true,
        text: Text::Exact("I'll check the current weather in Tokyo for you."),
    },
    Case {
        file: "sse/deepseek-reasoner-stream-reasoning-content-live.sse",
        protocol: "openai-chat",
        model: Some("deepseek-reasoner"),
        tokens: Some((6, 212, 218)),
        events: Some(212),
        done: true,
        text: Text::Exact("Hello there! 😊 How can I help you today?"),
    },
    Case {
        file: "sse/deepseek-reasoner-stream-reasoning-content-usage-on-finish.sse",
        protocol: "openai-chat",
        model: Some("deepseek-reasoner"),
        tokens: Some((6, 169, 175)),
        events: Some(18),
        done: true,
        text: Text::Exact("Hello! 😊 It's wonderful to meet you!"),
    },
    Case {
        file: "sse/gemini-stream-2.0-flash-exp-crlf.sse",
        protocol: "gemini",
        model: Some("gemini-2.0-flash-exp"),
        tokens: Some((13, 8, 21)),
        events: Some(3),
        done: true,
        text: Text::Exact("The capital of France is Paris.\n"),
    },
    Case {
        file: "sse/gemini-stream-2.5-flash-usage-every-chunk.sse",
        protocol: "gemini",
        model: Some("gemini-2.5-flash"),
        tokens: Some((18, 115, 133)),
        events: Some(3),
        done: true,
        text: Text::Exact(
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n21\n22\n23\n24\n25\n26\n27\n28\n29\n30",
        ),
    },
    Case {
        file: "sse/gemini-stream-2.5-pro-thinking.sse",
        protocol: "gemini",
        model: Some("gemini-2.5-pro"),
        tokens: Some((34, 1256, 1290)),
        events: Some(23),
        done: true,
        text: Text::Starts(1938, "This is a great question! Safely crossin"),
    },
    Case {
        file: "sse/gemini-stream-3-pro-tool-call-thought-signature.sse",
        protocol: "gemini",
        model: Some("gemini-3-pro-preview"),
        tokens: Some((29, 212, 241)),
        events: Some(2),
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "sse/gemini-stream-basic-short-2.0-flash.sse",
        protocol: "gemini",
        model: Some("gemini-2.0-flash"),
        tokens: Some((7, 10, 17)),
        events: Some(3),
        done: true,
        text: Text::Exact("The capital of Wyoming is **Cheyenne**.\n"),
    },
    Case {
        file: "sse/gemini-stream-citations-2.0-flash.sse",
        protocol: "gemini",
        model: Some("gemini-2.0-flash"),
        tokens: Some((15, 1381, 1396)),
        events: Some(26),
        done: true,
        text: Text::Starts(6711, "Okay, let's break down quantum mechanics"),
    },
    Case {
        file: "sse/gemini-stream-code-execution-tooluse-tokens.sse",
        protocol: "gemini",
        model: Some("gemini-2.5-flash"),
        tokens: Some((21, 221, 485)),
        events: Some(6),
        done: true,
        text: Text::Starts(228, "To find the sum of the first 5 prime num"),
    },
    Case {
        file: "sse/gemini-stream-finish-recitation.sse",
        protocol: "gemini",
        model: Some("gemini-2.0-flash"),
        tokens: Some((9, 261, 270)),
        events: Some(9),
        done: true,
        text: Text::Exact("text1text2text3text4text5text6text7text8"),
    },
    Case {
        file: "sse/gemini-stream-image-preview-empty-parts.sse",
        protocol: "gemini",
        model: Some("gemini-2.5-flash-image-preview"),
        tokens: Some((16, 1307, 1323)),
        events: Some(7),
        done: true,
        text: Text::Exact("Here's a cute cartoon kitten playing with a ball of yarn for you! "),
    },
    Case {
        file: "sse/gemini-stream-long-2.0-flash.sse",
        protocol: "gemini",
        model: Some("gemini-2.0-flash"),
        tokens: Some((10, 1996, 2006)),
        events: Some(36),
        done: true,
        text: Text::Starts(8845, "Okay, let's dive into the world of cats "),
    },
    Case {
        file: "sse/gemini-stream-thinking-function-call-signature.sse",
        protocol: "gemini",
        model: Some("gemini-2.5-flash"),
        tokens: Some((38, 174, 212)),
        events: Some(3),
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "sse/gemini-stream-thinking-thought-summary-2.5-flash.sse",
        protocol: "gemini",
        model: Some("gemini-2.5-flash"),
        tokens: Some((10, 588, 598)),
        events: Some(5),
        done: true,
        text: Text::Starts(263, "The sky is blue because tiny gas molecul"),
    },
    Case {
        file: "sse/groq-chat-stream-error-event-tool-use-failed.sse",
        protocol: "openai-chat",
        model: Some("openai/gpt-oss-120b"),
        tokens: None,
        events: Some(95),
        done: false,
        text: Text::Exact(""),
    },
    Case {
        file: "sse/groq-chat-stream-gpt-oss-x-groq-usage.sse",
        protocol: "openai-chat",
        model: Some("openai/gpt-oss-120b"),
        tokens: Some((304, 49, 353)),
        events: Some(26),
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "sse/mistral-chat-stream-magistral-thinking.sse",
        protocol: "openai-chat",
        model: Some("magistral-medium-latest"),
        tokens: Some((10, 232, 242)),
        events: Some(159),
        done: true,
        text: Text::Starts(607, "To cross the street safely, follow these"),
    },
    Case {
        file: "sse/openai-chat-stream-gpt5-usage-then-moderation-chunk.sse",
        protocol: "openai-chat",
        model: Some("gpt-5-2025-08-07"),
        tokens: Some((13, 11, 24)),
        events: Some(7),
        done: true,
        text: Text::Exact("Paris."),
    },
    Case {
        file: "sse/openai-chat-stream-real-model-include-usage.sse",
        protocol: "openai-chat",
        model: Some("gpt-4o-mini-2024-07-18"),
        tokens: Some((53, 15, 68)),
        events: Some(9),
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "sse/openai-chat-streaming-gpt5nano.sse",
        protocol: "openai-chat",
        model: Some("gpt-5-nano-2025-08-07"),
        tokens: None,
        events: Some(51),
        done: true,
        text: Text::Starts(209, "Hi there! How can I help today? I can an"),
    },
    Case {
        file: "sse/openai-chat-streaming-include-usage-length-reasoning-only.sse",
        protocol: "openai-chat",
        model: Some("gpt-5-nano-2025-08-07"),
        tokens: Some((12, 100, 112)),
        events: Some(4),
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "sse/openai-chat-streaming-web-search-no-usage.sse",
        protocol: "openai-chat",
        model: Some("gpt-4o-mini-search-preview-2025-03-11"),
        tokens: None,
        events: Some(26),
        done: true,
        text: Text::Exact(
            "The URL https://httpbin.org/base64/dGVzdA== returns the decoded string \"test\".  ",
        ),
    },
    Case {
        file: "sse/openai-legacy-completions-streaming-include-usage.sse",
        protocol: "openai-chat",
        model: Some("babbage:2023-07-21-v2"),
        tokens: Some((31, 25, 56)),
        events: Some(27),
        done: true,
        text: Text::Exact(" + fib(n-3) + fib(n-4)\n\ndef fibn(n):\n    if n <= 1:\n       "),
    },
    Case {
        file: "sse/openai-legacy-completions-streaming-no-usage.sse",
        protocol: "openai-chat",
        model: Some("babbage:2023-07-21-v2"),
        tokens: None,
        events: Some(26),
        done: true,
        text: Text::Exact(
            " + fib(n-3)\n\ndef fib2(n):\n    if n <= 1:\n        return n\n    else:\n",
        ),
    },
    Case {
        file: "sse/openrouter-anthropic-messages-stream-thinking-tool-call.sse",
        protocol: "anthropic-messages",
        model: Some("anthropic/claude-4.6-sonnet-20260217"),
        tokens: Some((743, 360, 1103)),
        events: Some(28),
        done: true,
        text: Text::Starts(216, "Anthropic is the clear winner here — it "),
    },
    Case {
        file: "sse/openrouter-anthropic-messages-stream-thinking.sse",
        protocol: "anthropic-messages",
        model: Some("anthropic/claude-4.6-sonnet-20260217"),
        tokens: Some((123, 459, 582)),
        events: Some(34),
        done: true,
        text: Text::Starts(580, "## Reasoning\n\nWith one retry on failure,"),
    },
    Case {
        file: "sse/openrouter-chat-stream-gpt4o-tool-call-usage.sse",
        protocol: "openai-chat",
        model: Some("openai/gpt-4o"),
        tokens: Some((132, 53, 185)),
        events: Some(48),
        done: true,
        text: Text::Starts(100, "Today's date is November 10, 2023. I wil"),
    },
    Case {
        file: "sse/openrouter-chat-stream-midstream-error-with-usage.sse",
        protocol: "openai-chat",
        model: Some("minimax/minimax-m2:free"),
        tokens: Some((43, 10, 53)),
        events: Some(5),
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "sse/openrouter-chat-stream-o3-processing-comments.sse",
        protocol: "openai-chat",
        model: Some("openai/o3"),
        tokens: Some((9, 104, 113)),
        events: Some(103),
        done: true,
        text: Text::Starts(446, "I’m ChatGPT, a large-language-model assi"),
    },
    Case {
        file: "sse/openrouter-chat-stream-reasoning-details.sse",
        protocol: "openai-chat",
        model: Some("anthropic/claude-sonnet-4.5"),
        tokens: Some((43, 36, 79)),
        events: Some(15),
        done: true,
        text: Text::Exact("2 + 2 = 4"),
    },
    Case {
        file: "sse/openrouter-chat-stream-web-search-usage-cost.sse",
        protocol: "openai-chat",
        model: Some("openai/gpt-4.1-mini"),
        tokens: Some((8174, 30, 8204)),
        events: Some(15),
        done: true,
        text: Text::Exact("https://github.com/pydantic/pydantic-ai "),
    },
    Case {
        file: "sse/vertex-gemini-stream-3-flash-flex-thought-signature.sse",
        protocol: "gemini",
        model: Some("gemini-3-flash-preview"),
        tokens: Some((5, 101, 106)),
        events: Some(1),
        done: true,
        text: Text::Exact("OK"),
    },
    Case {
        file: "sse/vertex-gemini-stream-basic-short-no-modelversion.sse",
        protocol: "gemini",
        model: None,
        tokens: Some((6, 4, 10)),
        events: Some(1),
        done: true,
        text: Text::Exact("Cheyenne"),
    },
    Case {
        file: "sse/vertex-gemini-stream-error-json-after-events.sse",
        protocol: "gemini",
        model: None,
        tokens: None,
        events: Some(2),
        done: true,
        text: Text::Exact("First Second "),
    },
    Case {
        file: "sse/vertex-gemini-stream-finish-safety.sse",
        protocol: "gemini",
        model: Some("gemini-1.5-flash"),
        tokens: Some((10, 66, 76)),
        events: Some(1),
        done: true,
        text: Text::Exact("<redacted>"),
    },
    Case {
        file: "sse/vertex-gemini-stream-function-call.sse",
        protocol: "gemini",
        model: None,
        tokens: None,
        events: Some(1),
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "sse/vertex-gemini-stream-thinking-thought-summary.sse",
        protocol: "gemini",
        model: Some("gemini-2.5-flash"),
        tokens: Some((9, 1201, 1210)),
        events: Some(8),
        done: true,
        text: Text::Starts(607, "The sky is blue due to a phenomenon call"),
    },
    Case {
        file: "sse/vertex-gemini-stream-utf8-no-usage.sse",
        protocol: "gemini",
        model: None,
        tokens: None,
        events: Some(4),
        done: true,
        text: Text::Starts(
            225,
            "秋风瑟瑟，叶落纷纷，\n西风残照，寒霜渐浓。\n枫叶红了，菊花黄了，\n秋雨绵绵，秋意",
        ),
    },
    Case {
        file: "sse/zai-glm-chat-stream-thinking.sse",
        protocol: "openai-chat",
        model: Some("glm-4.7"),
        tokens: Some((13, 564, 577)),
        events: Some(94),
        done: true,
        text: Text::Exact("4"),
    },
    Case {
        file: "responses/anthropic-message-basic.json",
        protocol: "anthropic-messages",
        model: Some("claude-sonnet-4-6"),
        tokens: Some((563, 4, 567)),
        events: None,
        done: true,
        text: Text::Exact("ready"),
    },
    Case {
        file: "responses/anthropic-message-cache-write-and-read.json",
        protocol: "anthropic-messages",
        model: Some("claude-sonnet-4-5-20250929"),
        tokens: Some((3, 33, 36)),
        events: None,
        done: true,
        text: Text::Starts(164, "Python is a beginner-friendly, versatile"),
    },
    Case {
        file: "responses/azure-openai-chat-basic-content-filter.json",
        protocol: "openai-chat",
        model: Some("gpt-5-nano-2025-08-07"),
        tokens: Some((8, 271, 279)),
        events: None,
        done: true,
        text: Text::Starts(298, "Hi there! How can I help today? I can an"),
    },
    Case {
        file: "responses/bedrock-anthropic-invoke-message-cache.json",
        protocol: "anthropic-messages",
        model: Some("claude-haiku-4-5-20251001"),
        tokens: Some((3, 44, 47)),
        events: None,
        done: true,
        text: Text::Starts(186, "Python evolved from Python 2's simple dy"),
    },
    Case {
        file: "responses/deepseek-chat-completion-tool-call-with-content.json",
        protocol: "openai-chat",
        model: Some("deepseek-chat"),
        tokens: Some((161, 25, 186)),
        events: None,
        done: true,
        text: Text::Exact("I'll check the current weather in Tokyo for you."),
    },
    Case {
        file: "responses/deepseek-error-model-not-exist.json",
        protocol: "openai-chat",
        model: None,
        tokens: None,
        events: None,
        done: false,
        text: Text::Exact(""),
    },
    Case {
        file: "responses/deepseek-reasoner-chat-completion-reasoning-content.json",
        protocol: "openai-chat",
        model: Some("deepseek-reasoner"),
        tokens: Some((12, 9, 21)),
        events: None,
        done: true,
        text: Text::Exact("Hello! How can I help you today?"),
    },
    Case {
        file: "responses/gemini-error-400-api-key-invalid.json",
        protocol: "gemini",
        model: None,
        tokens: None,
        events: None,
        done: false,
        text: Text::Exact(""),
    },
    Case {
        file: "responses/gemini-generatecontent-basic-2.0-flash.json",
        protocol: "gemini",
        model: Some("gemini-2.0-flash"),
        tokens: Some((7, 22, 29)),
        events: None,
        done: true,
        text: Text::Starts(98, "Google's headquarters, also known as the"),
    },
    Case {
        file: "responses/gemini-generatecontent-thinking-thought-part.json",
        protocol: "gemini",
        model: Some("gemini-2.5-flash"),
        tokens: Some((14, 26, 40)),
        events: None,
        done: true,
        text: Text::Exact("Mountain View"),
    },
    Case {
        file: "responses/groq-chat-completion-x-groq.json",
        protocol: "openai-chat",
        model: Some("llama-3.3-70b-versatile"),
        tokens: Some((48, 8, 56)),
        events: None,
        done: true,
        text: Text::Exact("The capital of France is Paris."),
    },
    Case {
        file: "responses/mistral-chat-completion-prompt-cache.json",
        protocol: "openai-chat",
        model: Some("mistral-large-latest"),
        tokens: Some((268, 5, 273)),
        events: None,
        done: true,
        text: Text::Exact("cache probe two."),
    },
    Case {
        file: "responses/mistral-chat-completion-thinking-list-content.json",
        protocol: "openai-chat",
        model: Some("magistral-medium-latest"),
        tokens: Some((664, 747, 1411)),
        events: None,
        done: true,
        text: Text::Starts(1282, "Crossing a river is quite different from"),
    },
    Case {
        file: "responses/openai-chat-basic-gpt5nano.json",
        protocol: "openai-chat",
        model: Some("gpt-5-nano-2025-08-07"),
        tokens: Some((8, 377, 385)),
        events: None,
        done: true,
        text: Text::Starts(206, "Hi there! How can I help you today? I ca"),
    },
    Case {
        file: "responses/openai-chat-reasoning-tokens.json",
        protocol: "openai-chat",
        model: Some("gpt-5-nano-2025-08-07"),
        tokens: Some((27, 267, 294)),
        events: None,
        done: true,
        text: Text::Starts(134, "Ball costs 5 cents.\n\nReason: Let ball = "),
    },
    Case {
        file: "responses/openai-chat-tool-call-null-content.json",
        protocol: "openai-chat",
        model: Some("gpt-5-nano-2025-08-07"),
        tokens: Some((162, 287, 449)),
        events: None,
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "responses/openai-embeddings-base64.json",
        protocol: "openai-embeddings",
        model: Some("text-embedding-3-small"),
        tokens: Some((7, 0, 7)),
        events: None,
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "responses/openai-embeddings-float.json",
        protocol: "openai-embeddings",
        model: Some("text-embedding-3-small"),
        tokens: Some((7, 0, 7)),
        events: None,
        done: true,
        text: Text::Exact(""),
    },
    Case {
        file: "responses/openai-error-400-unsupported-parameter.json",
        protocol: "openai-chat",
        model: None,
        tokens: None,
        events: None,
        done: false,
        text: Text::Exact(""),
    },
    Case {
        file: "responses/openai-error-404-model-not-found.json",
        protocol: "openai-chat",
        model: None,
        tokens: None,
        events: None,
        done: false,
        text: Text::Exact(""),
    },
    Case {
        file: "responses/openai-legacy-completions-basic.json",
        protocol: "openai-chat",
        model: Some("babbage:2023-07-21-v2"),
        tokens: Some((31, 25, 56)),
        events: None,
        done: true,
        text: Text::Exact(" + fib(n-3) + fib(n-4)\n\ndef fib(n):\n    if n <= 1:\n        return"),
    },
    Case {
        file: "responses/vertex-gemini-generatecontent-basic-no-modelversion.json",
        protocol: "gemini",
        model: None,
        tokens: Some((6, 7, 13)),
        events: None,
        done: true,
        text: Text::Exact("Mountain View, California"),
    },
    Case {
        file: "responses/vertex-gemini-generatecontent-implicit-cache.json",
        protocol: "gemini",
        model: Some("gemini-2.5-flash"),
        tokens: Some((12013, 88, 12101)),
        events: None,
        done: true,
        text: Text::Exact("Red Riding Hood is looking for **directions** in the forest."),
    },
];

fn wire_dir() -> Option<PathBuf> {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/fixtures/wire"))
        .find(|dir| dir.is_dir())
}

fn observe(body: &[u8], protocol: Protocol, streaming: bool, text: bool, chunk: usize) -> Metrics {
    let start = Instant::now();
    let mut ctx = RequestContext::new(protocol, protocol, start);
    ctx.logging.payloads = text;
    let mut exchange = Exchange::new(ctx, None);
    let mut headers = HeaderMap::new();
    let content_type = if streaming {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let head = exchange.on_head(StatusCode::OK, &headers, start).unwrap();
    assert_eq!(head.streaming, streaming);
    let body = Bytes::copy_from_slice(body);
    let mut forwarded = Vec::new();
    for (i, at) in (0..body.len()).step_by(chunk).enumerate() {
        let piece = body.slice(at..(at + chunk).min(body.len()));
        let out = exchange
            .on_body(piece.clone(), start + Duration::from_millis(i as u64))
            .unwrap();
        assert_eq!(out, piece, "passthrough forwards each chunk unchanged");
        forwarded.extend_from_slice(&out);
    }
    assert!(exchange.on_eof(start).unwrap().is_empty());
    assert_eq!(forwarded, body);
    exchange.finish(start)
}

fn check(case: &Case, metrics: &Metrics, text: bool) {
    let name = case.file;
    assert_eq!(metrics.llm_model.as_deref(), case.model, "{name}: model");
    let tokens = metrics
        .usage
        .map(|u| (u.prompt_tokens, u.completion_tokens, u.total_tokens));
    assert_eq!(tokens, case.tokens, "{name}: tokens");
    if let Some(events) = case.events {
        assert_eq!(metrics.events, events, "{name}: events");
    }
    assert_eq!(metrics.done, case.done, "{name}: done");
    if !text {
        assert_eq!(
            metrics.response_text, None,
            "{name}: no text on the fast path"
        );
        return;
    }
    let got = metrics.response_text.as_deref().unwrap();
    match case.text {
        Text::Exact(want) => assert_eq!(got, want, "{name}: text"),
        Text::Starts(chars, prefix) => {
            assert_eq!(got.chars().count(), chars, "{name}: text length");
            assert!(got.starts_with(prefix), "{name}: text {got:?}");
        }
    }
}

#[test]
fn every_recording_matches_its_derived_summary() {
    let Some(dir) = wire_dir() else {
        eprintln!("skipping: ../shared/fixtures/wire not found");
        return;
    };
    let mut checked = 0;
    for case in CASES {
        let Ok(body) = std::fs::read(dir.join(case.file)) else {
            eprintln!("skipping missing {}", case.file);
            continue;
        };
        let protocol: Protocol = case.protocol.parse().unwrap();
        let streaming = case.file.starts_with("sse/");
        for chunk in [body.len().max(1), 4096, 61, 7, 1] {
            if chunk == 1 && body.len() > 20_000 {
                continue; // keeps the debug-build suite fast
            }
            for text in [true, false] {
                let metrics = observe(&body, protocol, streaming, text, chunk);
                check(case, &metrics, text);
            }
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn every_recording_has_a_case() {
    let Some(dir) = wire_dir() else {
        eprintln!("skipping: ../shared/fixtures/wire not found");
        return;
    };
    for sub in ["sse", "responses"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            // Requests are inputs; Bedrock (binary eventstream / Converse)
            // is a protocol this crate does not observe.
            if name.ends_with(".request.json")
                || name.ends_with(".eventstream")
                || name.starts_with("bedrock-converse")
            {
                continue;
            }
            let file = format!("{sub}/{name}");
            assert!(CASES.iter().any(|c| c.file == file), "no case for {file}");
        }
    }
}

#[test]
fn recorded_cache_reasoning_and_tool_calls() {
    let Some(dir) = wire_dir() else {
        eprintln!("skipping: ../shared/fixtures/wire not found");
        return;
    };
    // (file, protocol, cache_read, cache_creation, reasoning, has_tool_calls)
    let cases: &[(&str, &str, u64, u64, u64, bool)] = &[
        (
            "sse/deepseek-chat-stream-tool-call-cache-hit.sse",
            "openai-chat",
            128,
            0,
            0,
            true,
        ),
        (
            "sse/zai-glm-chat-stream-thinking.sse",
            "openai-chat",
            0,
            0,
            561,
            false,
        ),
        (
            "sse/groq-chat-stream-gpt-oss-x-groq-usage.sse",
            "openai-chat",
            0,
            0,
            23,
            true,
        ),
        (
            "sse/anthropic-messages-stream-tool-use-sonnet4.sse",
            "anthropic-messages",
            0,
            0,
            0,
            true,
        ),
        (
            "sse/gemini-stream-code-execution-tooluse-tokens.sse",
            "gemini",
            0,
            0,
            95,
            false,
        ),
        (
            "sse/vertex-gemini-stream-function-call.sse",
            "gemini",
            0,
            0,
            0,
            true,
        ),
        (
            "responses/vertex-gemini-generatecontent-implicit-cache.json",
            "gemini",
            11243,
            0,
            73,
            false,
        ),
        (
            "responses/openai-chat-tool-call-null-content.json",
            "openai-chat",
            0,
            0,
            256,
            true,
        ),
    ];
    for (file, protocol, read, creation, reasoning, tools) in cases {
        let Ok(body) = std::fs::read(dir.join(file)) else {
            continue;
        };
        let streaming = file.starts_with("sse/");
        for text in [true, false] {
            let m = observe(&body, protocol.parse().unwrap(), streaming, text, 97);
            let usage = m.usage.unwrap_or_default();
            assert_eq!(
                (
                    usage.cache_read_input_tokens,
                    usage.cache_creation_input_tokens,
                    usage.reasoning_tokens,
                    m.has_tool_calls
                ),
                (*read, *creation, *reasoning, *tools),
                "{file}"
            );
        }
    }
}

#[test]
fn recorded_mid_stream_errors_are_counted_and_bytes_keep_flowing() {
    let Some(dir) = wire_dir() else {
        eprintln!("skipping: ../shared/fixtures/wire not found");
        return;
    };
    for (file, message) in [
        (
            "sse/groq-chat-stream-error-event-tool-use-failed.sse",
            "Tool call validation failed",
        ),
        (
            "sse/openrouter-chat-stream-midstream-error-with-usage.sse",
            "Token limit reached",
        ),
    ] {
        let Ok(body) = std::fs::read(dir.join(file)) else {
            continue;
        };
        for text in [true, false] {
            let m = observe(&body, Protocol::OpenAiChat, true, text, 512);
            assert_eq!(m.error_events, 1, "{file}");
            assert!(
                m.upstream_error.as_deref().unwrap().starts_with(message),
                "{file}"
            );
        }
    }
}
