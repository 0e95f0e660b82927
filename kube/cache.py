"""One in-process list+watch cache of Models and namespaces, with the app's own identity.

Readers call `model_cache().snapshot()` and get an immutable `Snapshot`: a
version number that grows on every change, the models sorted by namespace and
name, and indexes by namespace and by (namespace, name). Taking a snapshot is
one attribute read, with no lock; the watch threads build a new snapshot and
swap the reference.

Each watched resource has a thread that lists it, then watches from the list's
resourceVersion with bookmarks; on 410 Gone it lists again; when the API server
drops or errors it reconnects with capped exponential backoff. Every request
has bounded timeouts and TCP keepalive, so a dead connection is noticed and replaced.

The process-wide cache starts lazily on first use in each process (under
gunicorn: in each worker, after the fork), never at import time.

The objects inside a snapshot are shared by every reader: never mutate them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kube import errors
from kube.calls import list_all, translate, unavailable
from kube.cluster import CONNECT_TIMEOUT_SECONDS, Caller, default_cluster
from modelspec.schema import GROUP, PLURAL, VERSION

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]

WATCH_SECONDS = (240, 300)  # server-side watch timeout, picked at random in this range
# The API server sends bookmarks only once the resource has seen an event, so a quiet
# watch can be silent until the server ends it: only silence past its timeout means a
# hung server. A vanished peer is caught sooner by TCP keepalive (kube.cluster).
READ_TIMEOUT_SECONDS = WATCH_SECONDS[1] + 30.0
BACKOFF_SECONDS = (0.2, 5.0)  # first and largest pause between reconnection attempts
MODELS = f"{PLURAL}.{GROUP}"


class _Gone(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


@dataclass(frozen=True)
class Snapshot:
    """What the cache held at one moment. `version` grows by one with every change."""

    version: int = 0
    synced: bool = False
    models: tuple[Obj, ...] = ()
    by_namespace: Mapping[str, tuple[Obj, ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    by_key: Mapping[Key, Obj] = field(default_factory=lambda: MappingProxyType({}))
    namespaces: tuple[str, ...] = ()
    resource_version: str = ""
    built_at: float = 0.0  # time.time() when this snapshot was built

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.by_key.get((namespace, name))

    def in_namespace(self, namespace: str) -> tuple[Obj, ...]:
        return self.by_namespace.get(namespace, ())


@dataclass
class WatchStats:
    """Counters the metrics endpoint reads (plain numbers, no locking needed to read)."""

    lists: int = 0
    restarts: Counter[str] = field(default_factory=Counter)  # reason -> count
    connected: bool = False
    last_contact: float = 0.0  # time.monotonic() of the last list, event or bookmark
    last_error: str = ""


def _key(obj: Obj) -> Key:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _lines(response: Any) -> Iterator[bytes]:
    """The lines of a streamed watch response, as they arrive."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


class WatchOwner(Protocol):
    """What a watcher needs from the cache it feeds (ModelCache, kube.watches.ResourceCache)."""

    caller: Caller
    stopping: threading.Event
    guard: threading.Condition

    def publish(self, changed: bool) -> None: ...


class _Watcher:
    """List+watch of one resource, feeding its items to the cache."""

    def __init__(self, cache: WatchOwner, resource: str, list_fn: Callable[..., Any],
                 args: tuple[Any, ...]):
        self.cache = cache
        self.resource = resource
        self.list_fn = list_fn
        self.args = args
        self.items: dict[Key, Obj] = {}
        self.resource_version: str | None = None
        self.resume_from: str | None = None  # see ModelCache.restart_watch
        self.synced = threading.Event()
        self.stats = WatchStats()
        self.response: Any = None
        self.thread = threading.Thread(target=self.run, name=f"kmm-watch-{resource}",
                                       daemon=True)

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        failures = 0
        while not self.cache.stopping.is_set():
            try:
                if self.resource_version is None:
                    self.relist()
                self.watch()
                failures = 0
            except _Gone:
                self.stats.restarts["gone"] += 1
                log.info("watch of %s: resourceVersion %s expired (410 Gone); listing again",
                         self.resource, self.resource_version)
                self.resource_version = None
            except (errors.KubeError, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                if self.cache.stopping.is_set():
                    break
                failures += 1
                self.stats.restarts["error"] += 1
                self.stats.connected = False
                self.stats.last_error = str(exc)
                pause = min(BACKOFF_SECONDS[1], BACKOFF_SECONDS[0] * 2 ** (failures - 1))
                pause *= random.uniform(0.8, 1.2)
                log.warning("watch of %s failed (%s); retrying in %.1fs", self.resource, exc,
                            pause)
                self.cache.stopping.wait(pause)
        self.stats.connected = False

    def relist(self) -> None:
        caller = self.cache.caller
        listed, metadata = list_all(caller, self.list_fn(caller), *self.args,
                                    resource=self.resource)
        items: dict[Key, Obj] = {_key(obj): obj for obj in listed}
        self.stats.lists += 1
        self._contact()
        with self.cache.guard:
            changed = _fingerprint(items) != _fingerprint(self.items)
            self.items = items
            self.resource_version = str(metadata.get("resourceVersion") or "")
            self.synced.set()
            self.cache.publish(changed)

    def watch(self) -> None:
        caller = self.cache.caller
        low, high = WATCH_SECONDS
        if self.resume_from is not None:
            self.resource_version, self.resume_from = self.resume_from, None
        try:
            response = self.list_fn(caller)(
                *self.args, watch=True, resource_version=self.resource_version,
                allow_watch_bookmarks=True, timeout_seconds=random.randint(low, high),
                _preload_content=False,
                _request_timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS))
        except ApiException as exc:
            if exc.status == 410:
                raise _Gone from None
            raise translate(exc, verb="watch", resource=self.resource, namespace=None,
                            name=None) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise unavailable(caller, exc) from None
        self.response = response
        try:
            if self.cache.stopping.is_set():
                return
            self._contact()
            for line in _lines(response):
                self.handle(json.loads(line))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if not self.cache.stopping.is_set():
                raise unavailable(caller, exc) from None
        finally:
            self.response = None
            response.close()
            response.release_conn()

    def handle(self, event: Obj) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Gone
            raise errors.Unavailable(f"watch error: {obj.get('message') or obj}")
        self._contact()
        resource_version = (obj.get("metadata") or {}).get("resourceVersion")
        with self.cache.guard:
            if kind in ("ADDED", "MODIFIED"):
                self.items[_key(obj)] = obj
            elif kind == "DELETED":
                self.items.pop(_key(obj), None)
            if resource_version:
                self.resource_version = str(resource_version)
            if kind != "BOOKMARK":
                self.cache.publish(True)

    def _contact(self) -> None:
        self.stats.connected = True
        self.stats.last_contact = time.monotonic()

    def interrupt(self) -> None:
        response = self.response
        if response is not None:
            with contextlib.suppress(ValueError, RuntimeError, OSError):
                response.shutdown()


def _fingerprint(items: Mapping[Key, Obj]) -> set[tuple[Key, str]]:
    return {(key, str((obj.get("metadata") or {}).get("resourceVersion"))) for key, obj in
            items.items()}


def _combined(stats: list[WatchStats]) -> WatchStats:
    if len(stats) == 1:
        return stats[0]
    restarts: Counter[str] = Counter()
    for one in stats:
        restarts.update(one.restarts)
    return WatchStats(lists=sum(s.lists for s in stats), restarts=restarts,
                      connected=all(s.connected for s in stats),
                      last_contact=min((s.last_contact for s in stats), default=0.0),
                      last_error=next((s.last_error for s in stats if s.last_error), ""))


def _custom_namespaced(caller: Caller) -> Callable[..., Any]:
    return client.CustomObjectsApi(caller.api).list_namespaced_custom_object


def _custom(caller: Caller) -> Callable[..., Any]:
    return client.CustomObjectsApi(caller.api).list_cluster_custom_object


def _namespaces(caller: Caller) -> Callable[..., Any]:
    return client.CoreV1Api(caller.api).list_namespace


class ModelCache:
    """The list+watch cache. `start()` it, read `snapshot()`, `stop()` it.

    By default it watches Models and namespaces cluster-wide. Given `namespaces`
    (for an identity whose RBAC covers only those), it watches Models in each of
    them and takes them as the namespace list.
    """

    def __init__(self, caller: Caller, namespaces: Iterable[str] | None = None):
        self.caller = caller
        self.pid = os.getpid()
        self.stopping = threading.Event()
        self.namespaces = tuple(sorted(set(namespaces))) if namespaces is not None else None
        if self.namespaces is None:
            self.model_watchers = [_Watcher(self, MODELS, _custom, (GROUP, VERSION, PLURAL))]
        else:
            self.model_watchers = [
                _Watcher(self, f"{MODELS} in {ns}", _custom_namespaced, (GROUP, VERSION, ns, PLURAL))
                for ns in self.namespaces]
        self.models = self.model_watchers[0] if self.model_watchers else _Watcher(
            self, MODELS, _custom, (GROUP, VERSION, PLURAL))
        self.namespace_watch = _Watcher(self, "namespaces", _namespaces, ())
        self._snapshot = Snapshot()
        # Held by the watch threads while they change items and build a snapshot;
        # readers never take it (except wait_until, which waits for a change).
        self.guard = threading.Condition(threading.RLock())
        self.started = False

    @property
    def watchers(self) -> list[_Watcher]:
        if self.namespaces is None:
            return [*self.model_watchers, self.namespace_watch]
        return list(self.model_watchers)

    def start(self) -> ModelCache:
        if not self.started:
            self.started = True
            for watcher in self.watchers:
                watcher.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        for watcher in self.watchers:
            watcher.interrupt()
        for watcher in self.watchers:
            if watcher.thread.is_alive():
                watcher.thread.join(timeout)
        with self.guard:
            self.guard.notify_all()

    # --- readers ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def synced(self) -> bool:
        return all(w.synced.is_set() for w in self.model_watchers)

    @property
    def connected(self) -> bool:
        """Whether the model watches are currently in touch with the API server."""
        return all(w.stats.connected for w in self.model_watchers)

    def age(self) -> float:
        """Seconds since the API server last told the cache anything (list, event, bookmark)."""
        last = min((w.stats.last_contact for w in self.model_watchers), default=0.0)
        return time.monotonic() - last if last else float("inf")

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(w.synced.wait(max(0.0, deadline - time.monotonic()))
                   for w in self.model_watchers)

    def wait_until(self, predicate: Callable[[Snapshot], bool], timeout: float) -> bool:
        """Wait until `predicate(snapshot)` holds (checked after each change)."""
        deadline = time.monotonic() + timeout
        with self.guard:
            while not predicate(self._snapshot):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopping.is_set():
                    return False
                self.guard.wait(remaining)
        return True

    def restart_watch(self, resource_version: str | None = None) -> None:
        """Drop the model watch and resume it, from `resource_version` when given.

        An operator's lever, and the tests': a version the API server no longer
        keeps makes it answer 410 Gone, after which the cache lists again.
        """
        for watcher in self.model_watchers:
            watcher.resume_from = resource_version
            watcher.interrupt()

    def stats(self) -> dict[str, WatchStats]:
        """Watch figures: "models" (all model watches together) and "namespaces"."""
        return {"models": _combined([w.stats for w in self.model_watchers]),
                "namespaces": self.namespace_watch.stats}

    # --- writers (the watch threads) --------------------------------------------------

    def publish(self, changed: bool) -> None:
        """Build and swap in a new snapshot (called by a watcher holding `guard`)."""
        with self.guard:
            previous = self._snapshot
            synced = self.synced
            if not changed and previous.synced == synced:
                return
            models = sorted((obj for w in self.model_watchers for obj in w.items.values()),
                            key=_key)
            by_namespace: dict[str, list[Obj]] = {}
            for obj in models:
                by_namespace.setdefault(_key(obj)[0], []).append(obj)
            names = (set(self.namespaces) if self.namespaces is not None
                     else {key[1] for key in self.namespace_watch.items}) | set(by_namespace)
            self._snapshot = Snapshot(
                version=previous.version + 1,
                synced=synced,
                models=tuple(models),
                by_namespace=MappingProxyType({ns: tuple(v) for ns, v in by_namespace.items()}),
                by_key=MappingProxyType({_key(obj): obj for obj in models}),
                namespaces=tuple(sorted(names)),
                resource_version=self.models.resource_version or "",
                built_at=time.time(),
            )
            self.guard.notify_all()


_process_cache: ModelCache | None = None
_process_lock = threading.Lock()


def model_cache() -> ModelCache:
    """The process-wide cache, started on first use in this process (after any fork)."""
    global _process_cache
    cache = _process_cache
    if cache is not None and cache.pid == os.getpid():
        return cache
    with _process_lock:
        if _process_cache is None or _process_cache.pid != os.getpid():
            _process_cache = ModelCache(default_cluster().as_app(), watch_namespaces()).start()
        return _process_cache


def synced_snapshot(timeout: float = 5.0) -> Snapshot:
    """The process-wide cache's snapshot, waiting up to `timeout` for its first sync."""
    cache = model_cache()
    if not cache.wait_synced(timeout):
        raise errors.Unavailable("The model list is not loaded yet: the Kubernetes API server "
                                 "has not answered. Retry in a moment.")
    return cache.snapshot()


def wait_for_write(namespace: str, name: str, written: Obj | None,
                   timeout: float = 1.0) -> bool:
    """Wait until the process-wide cache shows a write (`written` None: the deletion), so
    the writer's next list shows it too. Gives up quietly after `timeout`."""
    version = ((written or {}).get("metadata") or {}).get("resourceVersion")

    def seen(snapshot: Snapshot) -> bool:
        current = snapshot.get(namespace, name)
        if written is None:
            return current is None
        return current is not None and current["metadata"].get("resourceVersion") == version

    return model_cache().wait_until(seen, timeout)


def watch_namespaces(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """KMM_WATCH_NAMESPACES (comma-separated): watch only these; unset or empty: all."""
    raw = (os.environ if environ is None else environ).get("KMM_WATCH_NAMESPACES", "")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    return names or None


def running_cache() -> ModelCache | None:
    """The process-wide cache if it has started in this process, without starting it."""
    cache = _process_cache
    return cache if cache is not None and cache.pid == os.getpid() else None


def reset_model_cache() -> None:
    """Stop the process-wide cache; the next model_cache() starts a fresh one."""
    global _process_cache
    with _process_lock:
        cache, _process_cache = _process_cache, None
    if cache is not None and cache.pid == os.getpid():
        cache.stop()
