#!/usr/bin/env python3
"""LiteLLM's request transforms on the `agentic` bench's bodies, per call.

What is timed is what a Python gateway does with a request body:
`json.loads` -> LiteLLM's transform -> `json.dumps`, on the exact bodies
`cargo bench --bench agentic` measures (write them with
`AGENTIC_BODIES_DIR=DIR cargo bench --bench agentic -- --list`):

- `openai`: OpenAI chat -> OpenAI chat (`OpenAIGPTConfig.map_openai_params`
  + `transform_request`), the counterpart of `prepare_openai`;
- `openai_to_anthropic`: OpenAI chat -> Anthropic Messages
  (`AnthropicConfig.map_openai_params` + `transform_request`);
- `anthropic_to_openai`: Anthropic Messages -> OpenAI chat
  (`LiteLLMAnthropicMessagesAdapter.translate_anthropic_to_openai`).

Time is this thread's CPU time (the machine is shared), the median of
several batches, in microseconds per call.

Setup: python3 -m venv /work/venv-litellm && /work/venv-litellm/bin/pip install litellm
Run:   /work/venv-litellm/bin/python benches/litellm_transforms.py DIR
"""

import json
import os
import statistics
import sys
import time

# No network fetch of the model price map at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
from litellm.llms.anthropic.chat.transformation import AnthropicConfig  # noqa: E402
from litellm.llms.anthropic.messages.adapters.transformation import (  # noqa: E402
    LiteLLMAnthropicMessagesAdapter,
)
from litellm.llms.openai.chat.gpt_transformation import OpenAIGPTConfig  # noqa: E402

SIZES = ["1.6KB", "17KB", "268KB", "2.1MB"]


def chat_transform(config):
    def run(text):
        body = json.loads(text)
        model = body["model"]
        params = {k: v for k, v in body.items() if k not in ("model", "messages")}
        optional = config.map_openai_params(
            non_default_params=params, optional_params={}, model=model, drop_params=False
        )
        out = config.transform_request(
            model=model,
            messages=body["messages"],
            optional_params=optional,
            litellm_params={},
            headers={},
        )
        return json.dumps(out)

    return run


def anthropic_to_openai():
    adapter = LiteLLMAnthropicMessagesAdapter()

    def run(text):
        out, _names = adapter.translate_anthropic_to_openai(json.loads(text))
        return json.dumps(out)

    return run


def per_call_us(run, text, budget=0.25, batches=7):
    """Median CPU microseconds per call over `batches` batches of ~`budget` s."""
    for _ in range(2):
        run(text)
    start = time.thread_time()
    run(text)
    once = max(time.thread_time() - start, 1e-6)
    n = max(1, int(budget / once))
    samples = []
    for _ in range(batches):
        start = time.thread_time()
        for _ in range(n):
            run(text)
        samples.append((time.thread_time() - start) / n * 1e6)
    return statistics.median(samples)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    litellm.suppress_debug_info = True
    cases = [
        ("openai", "openai", chat_transform(OpenAIGPTConfig())),
        ("openai_to_anthropic", "openai", chat_transform(AnthropicConfig())),
        ("anthropic_to_openai", "anthropic", anthropic_to_openai()),
    ]
    print(f"litellm {litellm.__version__ if hasattr(litellm, '__version__') else ''}".strip())
    print("| size | " + " | ".join(name for name, _, _ in cases) + " |")
    print("|---|" + "---|" * len(cases))
    for size in SIZES:
        cells = []
        for _name, form, run in cases:
            with open(os.path.join(root, f"{form}_{size}.json"), encoding="utf-8") as f:
                text = f.read()
            cells.append(f"{per_call_us(run, text):.1f}")
        print(f"| {size} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
