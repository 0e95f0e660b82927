"""One test request to a model through KubeAI's OpenAI-compatible endpoint, server-side.

The browser never talks to KubeAI: kmm sends the request (KMM_KUBEAI_URL), with a bounded
connect and read timeout, a size limit on the prompt and on the answer read back.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import urllib3

DEFAULT_URL = "http://kubeai.kubeai.svc"  # the Service of KubeAI's chart, release "kubeai"
MAX_PROMPT_CHARS = 4000
MAX_ANSWER_BYTES = 64 * 1024
CONNECT_SECONDS = 3.0
FEATURES = ("TextGeneration", "TextEmbedding", "Reranking")

_pool = urllib3.PoolManager(num_pools=4, maxsize=8, retries=False)


def kubeai_url() -> str:
    return (os.environ.get("KMM_KUBEAI_URL") or DEFAULT_URL).rstrip("/")


def read_timeout() -> float:
    return float(os.environ.get("KMM_PROMPT_TIMEOUT", "120"))


def prompt_kind(features: list[str]) -> str | None:
    """Which request the console sends: the first feature it knows."""
    return next((f for f in FEATURES if f in features), None)


@dataclass
class Answer:
    ok: bool
    text: str
    seconds: float
    status: int = 0
    truncated: bool = False


def request_body(kind: str, model: str, prompt: str, documents: list[str]) -> tuple[str, dict[str, Any]]:
    if kind == "TextEmbedding":
        return "/openai/v1/embeddings", {"model": model, "input": prompt}
    if kind == "Reranking":
        return "/openai/v1/rerank", {"model": model, "query": prompt,
                                     "documents": documents or [prompt]}
    return "/openai/v1/chat/completions", {
        "model": model, "max_tokens": 256,
        "messages": [{"role": "user", "content": prompt}]}


def send(kind: str, model: str, prompt: str, documents: list[str] | None = None) -> Answer:
    path, body = request_body(kind, model, prompt[:MAX_PROMPT_CHARS], documents or [])
    started = time.monotonic()
    try:
        response = _pool.request(
            "POST", kubeai_url() + path, body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, preload_content=False,
            timeout=urllib3.Timeout(connect=CONNECT_SECONDS, read=read_timeout()),
            redirect=False)
    except urllib3.exceptions.HTTPError as exc:
        return Answer(False, f"KubeAI at {kubeai_url()} did not answer: "
                             f"{type(getattr(exc, 'reason', None) or exc).__name__}",
                      time.monotonic() - started)
    try:
        raw = response.read(MAX_ANSWER_BYTES + 1, decode_content=True)
    except urllib3.exceptions.HTTPError as exc:
        return Answer(False, f"The answer broke off: {type(exc).__name__}",
                      time.monotonic() - started)
    finally:
        response.release_conn()
        response.close()
    seconds = time.monotonic() - started
    truncated = len(raw) > MAX_ANSWER_BYTES
    raw = raw[:MAX_ANSWER_BYTES]
    text = raw.decode("utf-8", "replace")
    if response.status >= 400:
        return Answer(False, f"KubeAI answered {response.status}: {text[:2000]}", seconds,
                      response.status, truncated)
    return Answer(True, summarize(kind, text, truncated), seconds, response.status, truncated)


def summarize(kind: str, text: str, truncated: bool) -> str:
    """The part of the answer an operator wants to read."""
    if truncated:
        return text[:4000] + "\n… (answer cut at 64 KiB)"
    try:
        data = json.loads(text)
    except ValueError:
        return text[:4000]
    if kind == "TextGeneration":
        choices = data.get("choices") or [{}]
        message = (choices[0].get("message") or {}).get("content")
        return str(message if message is not None else choices[0].get("text", text))
    if kind == "TextEmbedding":
        vectors = [d.get("embedding") or [] for d in data.get("data") or []]
        if vectors:
            head = ", ".join(f"{v:.4f}" for v in vectors[0][:5])
            return f"{len(vectors[0])} dimensions: [{head}, …]"
    if kind == "Reranking":
        # KubeAI's shape is `data` of document_index (api/openai/v1/rerank.go); engines
        # answer `results` of index (Infinity, vLLM, Cohere's API).
        results = data.get("results") or data.get("data") or []
        return "\n".join(_ranked(r) for r in results if isinstance(r, dict)) or text[:4000]
    return text[:4000]


def _ranked(result: dict[str, Any]) -> str:
    """One reranked document: "#<index> <score>: <document>"."""
    index = result.get("document_index", result.get("index"))
    score = result.get("relevance_score", result.get("score"))
    line = f"#{index} {score:.4f}" if isinstance(score, (int, float)) else f"#{index} {score}"
    document = result.get("document")
    if isinstance(document, dict):  # Cohere's {"text": ...}
        document = document.get("text")
    return f"{line}: {str(document)[:200]}" if document else line


# Requests still running for a model that was waking up, by job id (this process only).
_jobs: dict[str, tuple[float, Answer | None]] = {}
_jobs_lock = threading.Lock()
MAX_JOBS = 64


def start(kind: str, model: str, prompt: str, documents: list[str] | None = None) -> str:
    """Send in the background (a model waking from zero takes minutes); poll `result`."""
    job = uuid.uuid4().hex
    with _jobs_lock:
        if len(_jobs) >= MAX_JOBS:
            for stale in sorted(_jobs, key=lambda k: _jobs[k][0])[: len(_jobs) - MAX_JOBS + 1]:
                _jobs.pop(stale, None)
        _jobs[job] = (time.monotonic(), None)

    def run() -> None:
        answer = send(kind, model, prompt, documents)
        with _jobs_lock:
            if job in _jobs:
                _jobs[job] = (_jobs[job][0], answer)

    threading.Thread(target=run, name=f"kmm-prompt-{job[:8]}", daemon=True).start()
    return job


def result(job: str) -> tuple[bool, Answer | None]:
    """(known here, answer when finished)."""
    with _jobs_lock:
        entry = _jobs.get(job)
        if entry is not None and entry[1] is not None:
            _jobs.pop(job, None)
    return (entry is not None, entry[1] if entry else None)
