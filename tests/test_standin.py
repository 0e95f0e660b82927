"""The fleet's stand-in model server answers OpenAI's shapes (pure: no cluster)."""

from __future__ import annotations

from devcluster.standin import reply


def test_it_answers_chat_completions_and_embeddings_naming_the_model() -> None:
    chat = reply("/v1/chat/completions", {"model": "m", "messages": []})
    completion = reply("/v1/completions", {"model": "m", "prompt": "hi"})
    embeddings = reply("/v1/embeddings", {"model": "m", "input": ["a", "b"]})
    assert chat is not None
    assert chat["choices"][0]["message"]["content"] == "stand-in reply from m"
    assert completion is not None
    assert completion["choices"][0]["text"] == "stand-in completion from m"
    assert embeddings is not None
    assert [d["index"] for d in embeddings["data"]] == [0, 1]
    assert reply("/v1/unknown", {}) is None
