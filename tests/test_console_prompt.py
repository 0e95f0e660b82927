"""The test prompt's HTTP side: bounded timeouts and sizes, the waking-up flow.

A small OpenAI-shaped server on 127.0.0.1 stands in for KubeAI's endpoint here, to
prove the bounds (a slow answer, a huge answer) and the flow through the views. The
same console against the real KubeAI proxy is tests/test_console_fleet.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

import kube
from console import prompt
from tests.conftest import eventually, make_model, set_status, wait_for_cache

received: list[dict[str, Any]] = []


class StandIn(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        received.append({"path": self.path, **body})
        text = (body.get("messages") or [{}])[-1].get("content", "")
        if text == "slow":
            time.sleep(2.5)
        if text == "huge":
            payload = b'{"choices": [{"message": {"content": "' + b"x" * 200_000 + b'"}}]}'
        elif self.path.endswith("/embeddings"):
            payload = json.dumps({"data": [{"embedding": [0.5] * 8}]}).encode()
        else:
            payload = json.dumps({"choices": [{"message": {"role": "assistant",
                                                           "content": f"echo: {text}"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("KMM_KUBEAI_URL", url)
    monkeypatch.setenv("KMM_PROMPT_TIMEOUT", "1")
    received.clear()
    yield url
    server.shutdown()
    server.server_close()


def test_it_sends_an_openai_request_and_reads_the_answer(stand_in: str) -> None:
    answer = prompt.send("TextGeneration", "llama-3.1-8b", "hello")
    assert (answer.ok, answer.text) == (True, "echo: hello")
    assert received[-1]["path"] == "/openai/v1/chat/completions"
    assert received[-1]["model"] == "llama-3.1-8b"
    embedded = prompt.send("TextEmbedding", "nomic-embed-text", "hello")
    assert embedded.text.startswith("8 dimensions: [0.5000")


def test_the_answer_and_the_wait_are_bounded(stand_in: str) -> None:
    slow = prompt.send("TextGeneration", "m", "slow")
    assert not slow.ok
    assert "did not answer: ReadTimeoutError" in slow.text
    assert slow.seconds < 2.5
    huge = prompt.send("TextGeneration", "m", "huge")
    assert huge.truncated
    assert huge.text.endswith("(answer cut at 64 KiB)")
    assert len(prompt.send("TextGeneration", "m", "y" * 10_000).text) < 4100  # prompt cut too
    assert len(received[-1]["messages"][0]["content"]) == prompt.MAX_PROMPT_CHARS


def test_an_unreachable_kubeai_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    from devcluster.controlplane import free_port

    monkeypatch.setenv("KMM_KUBEAI_URL", f"http://127.0.0.1:{free_port()}")
    answer = prompt.send("TextGeneration", "m", "hello")
    assert not answer.ok
    assert "did not answer" in answer.text


@pytest.mark.cluster
def test_a_model_at_zero_shows_waking_up_then_the_answer(stand_in: str, admin: kube.Caller,
                                                         namespace: str, cache: Any) -> None:
    kube.create_model(admin, make_model(namespace, "llama-3.1-8b", minReplicas=0))
    wait_for_cache(admin, namespace)
    client = Client()
    url = f"/console/models/{namespace}/llama-3.1-8b/prompt/"
    first = client.post(url, {"prompt": "wake up"}, HTTP_HX_REQUEST="true")
    assert b'data-testid="waking"' in first.content
    job = first.context["job"]

    def answered() -> bool:
        response = client.post(url + "progress/", {"job": job, "prompt": "wake up"},
                               HTTP_HX_REQUEST="true")
        return b"echo: wake up" in response.content

    assert eventually(answered, 5)
    set_status(namespace, "llama-3.1-8b", {"replicas": {"all": 1, "ready": 1}})
    wait_for_cache(admin, namespace)
    ready = client.post(url, {"prompt": "again"}, HTTP_HX_REQUEST="true")
    assert b"echo: again" in ready.content
    assert b'data-testid="latency"' in ready.content


@pytest.mark.cluster
def test_only_prompt_features_get_a_console(stand_in: str, admin: kube.Caller, namespace: str,
                                            cache: Any) -> None:
    kube.create_model(admin, make_model(namespace, "whisper", engine="FasterWhisper",
                                        features=["SpeechToText"]))
    wait_for_cache(admin, namespace)
    client = Client()
    assert b"Test prompt" not in client.get(f"/models/{namespace}/whisper/").content
    refused = client.post(f"/console/models/{namespace}/whisper/prompt/", {"prompt": "x"})
    assert refused.status_code == 400
    assert not received
