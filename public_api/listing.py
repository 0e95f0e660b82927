"""The published model list, computed once per cache version and kept as ready bytes.

`current_listing()` returns a `Listing` for the cache's current snapshot and the
publication settings: both formats (OpenRouter's provider list and OpenAI's
model list), each as JSON bytes, gzip bytes and their ETags. Requests only pick
one; nothing is serialized per request.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from kube.cache import Snapshot, model_cache
from modelspec import listing

log = logging.getLogger(__name__)

SYNC_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Rendition:
    data: dict[str, Any]
    body: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Rendition:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hashlib.sha256(body).hexdigest()[:32]
        return cls(data=data, body=body, gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                   etag=f'"{digest}"', gzip_etag=f'"{digest}-gzip"')


@dataclass(frozen=True)
class Listing:
    key: tuple[Any, ...]
    openrouter: Rendition
    openai: Rendition
    shadowed: tuple[str, ...]  # "namespace/name" of models left out for a duplicate id


def build(snapshot: Snapshot, mode: str, namespaces: tuple[str, ...]) -> Listing:
    """Both formats for the published models of a snapshot.

    Two published models with the same name (in different namespaces): the one
    created first keeps the id, the others are left out (and logged), so a new
    model can never take over an id consumers already use. Adapters are entries
    `<model>_<adapter>`, under the same rule.
    """
    published = [m for m in snapshot.models if listing.is_published(m, mode, namespaces)]
    published.sort(key=lambda m: (listing.created(m), m["metadata"].get("namespace", ""),
                                  m["metadata"].get("name", "")))
    entries: dict[str, dict[str, Any]] = {}
    owners: dict[str, dict[str, Any]] = {}
    shadowed: list[str] = []
    for model in published:
        metadata = model["metadata"]
        for entry in listing.listing_entries(model):
            if entry["id"] in entries:
                shadowed.append(f"{metadata.get('namespace')}/{metadata.get('name')}")
                continue
            entries[entry["id"]] = entry
            owners[entry["id"]] = model
    if shadowed:
        log.warning("public listing: left out for a duplicate id (the oldest model keeps it): %s",
                    ", ".join(sorted(set(shadowed))))
    ids = sorted(entries)
    openrouter = {"data": [entries[i] for i in ids]}
    openai = {"object": "list", "data": [
        {"id": i, "object": "model", "created": entries[i]["created"],
         "owned_by": _owner(owners[i])} for i in ids]}
    return Listing(key=(snapshot.version, mode, namespaces), openrouter=Rendition.of(openrouter),
                   openai=Rendition.of(openai), shadowed=tuple(sorted(set(shadowed))))


def _owner(model: dict[str, Any]) -> str:
    # spec.owner exists for exactly this field of OpenAI's list (KubeAI does the same).
    owner = (model.get("spec") or {}).get("owner")
    return owner if isinstance(owner, str) and owner else "kubeai"


_memo: Listing | None = None
_memo_lock = threading.Lock()


class NotSynced(Exception):
    """The cache has not loaded the models yet (or the API server never answered)."""


def current_listing() -> Listing:
    global _memo
    cache = model_cache()
    snapshot = cache.snapshot()
    if not snapshot.synced:
        if not cache.wait_synced(SYNC_WAIT_SECONDS):
            raise NotSynced(cache.stats()["models"].last_error)
        snapshot = cache.snapshot()
    key = (snapshot.version, settings.KMM_PUBLISH_MODE, tuple(settings.KMM_PUBLISH_NAMESPACES))
    memo = _memo
    if memo is not None and memo.key == key:
        return memo
    with _memo_lock:  # one build per version, however many requests arrive at once
        if _memo is None or _memo.key != key:
            _memo = build(snapshot, key[1], key[2])
        return _memo
