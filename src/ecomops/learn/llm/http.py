"""Any OpenAI-compatible chat endpoint: vLLM, llama.cpp server, Ollama, hosted APIs.

Only the standard library is used (``urllib``): one POST to ``{base_url}/chat/completions``.
Transient failures (connection reset, 429, 5xx) are retried with a short backoff; anything else
is raised at once with the server's own message, so a wrong key or model name says so.

>>> lm = OpenAICompatibleLM("http://127.0.0.1:8000/v1", model="qwen2.5-7b-instruct")  # doctest: +SKIP
>>> lm.generate([Message("user", "hello")]).text                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Sequence

from ...core.errors import ConfigError, SourceError
from .base import Generation, Message, cited_markers, grounded_messages

__all__ = ["OpenAICompatibleLM"]


class OpenAICompatibleLM:
    def __init__(self, base_url: str, *, api_key: str | None = None, model: str | None = None,
                 timeout: float = 30.0, retries: int = 2):
        if not model:
            raise ConfigError(f"{base_url}: name the model to use (--llm-model or $ECOMOPS_LLM_MODEL)")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        self.name = f"{model}@{self.base_url}"
        self.timeout = timeout
        self.retries = retries

    def generate(self, messages: Sequence[Message], *, passages: Sequence[str] = (), max_tokens: int = 256,
                 temperature: float = 0.0) -> Generation:
        body = {"model": self.model, "max_tokens": max_tokens, "temperature": temperature,
                "messages": [{"role": m.role, "content": m.content} for m in grounded_messages(messages, passages)]}
        data = self._post("/chat/completions", body)
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise SourceError(f"{self.base_url}: unexpected reply (no choices[0].message.content): "
                              f"{json.dumps(data)[:300]}") from None
        usage = data.get("usage") or {}
        return Generation(text.strip(), self.name, cited=cited_markers(text, len(passages)),
                          prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"))

    def _post(self, path: str, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError as e:
                detail = e.read()[:300].decode("utf-8", "replace")
                if (e.code == 429 or e.code >= 500) and attempt < self.retries:
                    time.sleep(0.5 * 2**attempt)
                    continue
                hint = " (check the API key)" if e.code in (401, 403) else " (check the model name)" if e.code == 404 else ""
                raise SourceError(f"{self.base_url}{path}: HTTP {e.code}{hint}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                if attempt < self.retries:
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise SourceError(f"{self.base_url}: cannot reach the language model server ({e}); is it running? "
                                  "Unset --llm to use the offline extractive default") from None
            except json.JSONDecodeError:
                raise SourceError(f"{self.base_url}{path}: the reply is not JSON") from None
        raise AssertionError("unreachable")
