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


def test_it_reranks_in_kubeais_shape_best_first() -> None:
    answer = reply("/v1/rerank", {"model": "bge", "query": "GPU nodes",
                                  "documents": ["cpu only", "two GPU nodes", "GPU"]})
    assert answer is not None
    assert answer["model"] == "bge"
    assert [(r["document_index"], r["relevance_score"]) for r in answer["data"]] == [
        (1, 1.0), (2, 0.5), (0, 0.0)]
    assert answer["data"][0]["document"] == "two GPU nodes"
    top = reply("/v1/rerank", {"model": "bge", "query": "a", "documents": ["a", "b"],
                               "top_n": 1})
    assert top is not None
    assert len(top["data"]) == 1
