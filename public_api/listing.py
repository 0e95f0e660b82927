"""The published model list, kept as ready bytes and rebuilt at a bounded cost.

`current_listing()` returns a `Listing` for the cache's current snapshot and the
publication settings: both formats (OpenRouter's provider list and OpenAI's
model list), each as JSON bytes, gzip bytes and their ETags. Requests only pick
one; nothing is serialized per request, and no parsed copy of the data is kept
(the browsable page parses the bytes when a browser asks).

What a rebuild costs, and how often it happens:
- Each model's entries are serialized once per resourceVersion and reused by later
  rebuilds (`Entries`), so a rebuild after one change re-serializes one model; the
  rest is joining bytes and gzip.
- One rebuild at a time; while it runs, other requests get the listing before it.
- When a rebuild is expensive (REBUILD_COOLDOWN_FROM_SECONDS or more, thousands
  of published models), the next one waits REBUILD_COOLDOWN_FACTOR times as long
  as it took: under constant churn the list lags by well under a second instead of
  keeping a core busy rebuilding.
- A change in which models lose an id to an older model of the same name
  (duplicate ids) is logged once, when it changes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from kube.cache import Snapshot, model_cache
from modelspec import listing

log = logging.getLogger(__name__)

SYNC_WAIT_SECONDS = 2.0
REBUILD_COOLDOWN_FROM_SECONDS = 0.025
REBUILD_COOLDOWN_FACTOR = 4.0
Obj = dict[str, Any]


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Rendition:
    body: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str

    @classmethod
    def of(cls, body: bytes) -> Rendition:
        digest = hashlib.sha256(body).hexdigest()[:32]
        return cls(body=body, gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                   etag=f'"{digest}"', gzip_etag=f'"{digest}-gzip"')

    @property
    def data(self) -> Any:
        """The parsed list (for the browsable page only: parsed on each use)."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Listing:
    key: tuple[Any, ...]
    openrouter: Rendition
    openai: Rendition
    shadowed: tuple[str, ...]  # "namespace/name" of models left out for a duplicate id
    built_at: float = 0.0  # time.monotonic()
    build_seconds: float = 0.0


@dataclass(frozen=True)
class ModelEntries:
    """One model's serialized entries, valid for one resourceVersion."""

    resource_version: str
    created: int
    entries: tuple[tuple[str, bytes, bytes], ...]  # (id, OpenRouter JSON, OpenAI JSON)


def model_entries(model: Obj) -> ModelEntries:
    metadata = model.get("metadata") or {}
    owner = _owner(model)
    entries = tuple(
        (entry["id"], _dumps(entry),
         _dumps({"id": entry["id"], "object": "model", "created": entry["created"],
                 "owned_by": owner}))
        for entry in listing.listing_entries(model))
    return ModelEntries(str(metadata.get("resourceVersion") or ""), listing.created(model),
                        entries)


class Entries:
    """Serialized entries per model, reused while the model's resourceVersion holds."""

    def __init__(self) -> None:
        self._by_uid: dict[str, ModelEntries] = {}

    def of(self, models: list[Obj]) -> list[tuple[Obj, ModelEntries]]:
        """Each model with its entries; forgets models no longer given."""
        known, fresh = self._by_uid, {}
        result = []
        for model in models:
            metadata = model["metadata"]
            uid = str(metadata.get("uid") or f"{metadata.get('namespace')}/{metadata.get('name')}")
            cached = known.get(uid)
            if cached is None or cached.resource_version != str(
                    metadata.get("resourceVersion") or ""):
                cached = model_entries(model)
            fresh[uid] = cached
            result.append((model, cached))
        self._by_uid = fresh
        return result


def build(snapshot: Snapshot, mode: str, namespaces: tuple[str, ...],
          entries: Entries | None = None) -> Listing:
    """Both formats for the published models of a snapshot.

    Two published models with the same name (in different namespaces): the one
    created first keeps the id, the others are left out, so a new model can never
    take over an id consumers already use. Adapters are entries `<model>_<adapter>`,
    under the same rule.
    """
    started = time.perf_counter()
    published = [m for m in snapshot.models if listing.is_published(m, mode, namespaces)]
    pairs = (entries or Entries()).of(published)
    pairs.sort(key=lambda pair: (pair[1].created, pair[0]["metadata"].get("namespace", ""),
                                 pair[0]["metadata"].get("name", "")))
    chosen: dict[str, tuple[bytes, bytes]] = {}
    shadowed: set[str] = set()
    for model, cached in pairs:
        for entry_id, openrouter, openai in cached.entries:
            if entry_id in chosen:
                metadata = model["metadata"]
                shadowed.add(f"{metadata.get('namespace')}/{metadata.get('name')}")
                continue
            chosen[entry_id] = (openrouter, openai)
    ids = sorted(chosen)
    openrouter_body = b'{"data":[' + b",".join(chosen[i][0] for i in ids) + b"]}"
    openai_body = b'{"object":"list","data":[' + b",".join(chosen[i][1] for i in ids) + b"]}"
    return Listing(key=(snapshot.version, mode, namespaces),
                   openrouter=Rendition.of(openrouter_body), openai=Rendition.of(openai_body),
                   shadowed=tuple(sorted(shadowed)), built_at=time.monotonic(),
                   build_seconds=time.perf_counter() - started)


def _owner(model: dict[str, Any]) -> str:
    # spec.owner exists for exactly this field of OpenAI's list (KubeAI does the same).
    owner = (model.get("spec") or {}).get("owner")
    return owner if isinstance(owner, str) and owner else "kubeai"


_memo: Listing | None = None
_memo_lock = threading.Lock()
_entries = Entries()
_logged_shadowed: tuple[str, ...] = ()


class NotSynced(Exception):
    """The cache has not loaded the models yet (or the API server never answered)."""


def current_listing() -> Listing:
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
    usable = memo is not None and memo.key[1:] == key[1:]
    if usable and memo is not None and _cooling_down(memo):
        return memo
    # One rebuild at a time; meanwhile the others serve the listing they have.
    if not _memo_lock.acquire(blocking=not usable):
        assert memo is not None
        return memo
    try:
        current = _memo
        if current is not None and current.key == key:
            return current
        fresh = build(cache.snapshot(), key[1], key[2], _entries)  # the newest snapshot
        _log_shadowed(fresh.shadowed)
        _remember(fresh)
        return fresh
    finally:
        _memo_lock.release()


def _cooling_down(memo: Listing) -> bool:
    return (memo.build_seconds >= REBUILD_COOLDOWN_FROM_SECONDS
            and time.monotonic() - memo.built_at < memo.build_seconds * REBUILD_COOLDOWN_FACTOR)


def _remember(fresh: Listing) -> None:
    global _memo
    _memo = fresh


def _log_shadowed(shadowed: tuple[str, ...]) -> None:
    """Log the duplicate ids when they change, not on every rebuild."""
    global _logged_shadowed
    if shadowed == _logged_shadowed:
        return
    added = sorted(set(shadowed) - set(_logged_shadowed))
    if added:
        log.warning("public listing: left out for a duplicate id (the oldest model keeps it): "
                    "%s", ", ".join(added))
    cleared = sorted(set(_logged_shadowed) - set(shadowed))
    if cleared:
        log.info("public listing: no longer left out for a duplicate id: %s", ", ".join(cleared))
    _logged_shadowed = shadowed
