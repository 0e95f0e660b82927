"""A stand-in model server on loopback: what KubeAI's proxy reaches behind the KWOK pods.

Test scaffolding only (KWOK pods run no containers). It answers the OpenAI endpoints KubeAI
forwards (chat, completions, embeddings, rerank) with small well-formed replies naming the model
asked for, so a request through KubeAI's real proxy gets a real answer.

    python -m devcluster.standin --port 7000
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def reply(path: str, body: dict[str, Any]) -> dict[str, Any] | None:
    model = str(body.get("model", ""))
    created = int(time.time())
    if path.endswith("/chat/completions"):
        return {"id": "chatcmpl-standin", "object": "chat.completion", "created": created,
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant",
                                         "content": f"stand-in reply from {model}"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5}}
    if path.endswith("/completions"):
        return {"id": "cmpl-standin", "object": "text_completion", "created": created,
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "text": f"stand-in completion from {model}"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5}}
    if path.endswith("/embeddings"):
        inputs = body.get("input", "")
        count = len(inputs) if isinstance(inputs, list) else 1
        return {"object": "list", "model": model,
                "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                         for i in range(count)],
                "usage": {"prompt_tokens": count, "total_tokens": count}}
    if path.endswith("/rerank"):
        return rerank(model, body)
    return None


def rerank(model: str, body: dict[str, Any]) -> dict[str, Any]:
    """KubeAI's rerank answer (api/openai/v1/rerank.go: `data` of document_index,
    document, relevance_score, best first); the score is the share of the query's words
    that the document contains."""
    words = set(str(body.get("query", "")).lower().split())
    documents = [str(d) for d in body.get("documents") or []]
    scored = sorted(((len(words & set(d.lower().split())) / (len(words) or 1), i, d)
                     for i, d in enumerate(documents)), key=lambda s: (-s[0], s[1]))
    top_n = body.get("top_n")
    if isinstance(top_n, int) and top_n > 0:
        scored = scored[:top_n]
    return {"object": "list", "model": model,
            "data": [{"document_index": i, "document": d, "relevance_score": round(score, 4)}
                     for score, i, d in scored],
            "usage": {"prompt_tokens": len(documents), "total_tokens": len(documents)}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path in ("/health", "/healthz", "/"):
            self._send(200, {"status": "ok"})
        elif self.path.endswith("/models"):
            self._send(200, {"object": "list", "data": []})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON"}})
            return
        answer = reply(self.path, body if isinstance(body, dict) else {})
        if answer is None:
            self._send(404, {"error": {"message": f"no route {self.path}"}})
        else:
            self._send(200, answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devcluster.standin")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
