"""Watch caches of what KubeAI runs for the Models: pods, nodes, events, KubeAI's config.

They reuse the Model cache's list+watch machinery (kube.cache.Watcher: list, watch
with bookmarks, relist on 410, reconnect with backoff) and run with kmm's own
identity, so a page that polls costs the API server nothing. Callers decide, with
access reviews of the *user*, what each user may see of them (see console.diagnosis).

The process-wide set starts lazily on first use in each process, like the Model cache.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kubernetes import client

from kube.cache import Change, Watcher
from kube.cluster import Caller, default_cluster

Obj = dict[str, Any]
Key = tuple[str, ...]
Indexer = Callable[[Obj], Key | None]

MODEL_LABEL = "model"  # KubeAI labels every pod it runs for a Model with model=<name>


class ResourceCache:
    """One list+watch of one resource, with an optional index, read as immutable snapshots."""

    def __init__(self, caller: Caller, resource: str, list_fn: Callable[[Caller], Any],
                 args: tuple[Any, ...] = (), index: Indexer | None = None):
        self.caller = caller
        self.resource = resource
        self.stopping = threading.Event()
        self.guard = threading.Condition(threading.RLock())
        self.index_fn = index
        self.version = 0
        self._items: tuple[Obj, ...] = ()
        self._index: Mapping[Key, tuple[Obj, ...]] = MappingProxyType({})
        self.watcher = Watcher(caller, resource, list_fn, args, self._changed, self.stopping)
        self.started = False

    def start(self) -> ResourceCache:
        if not self.started:
            self.started = True
            self.watcher.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.watcher.interrupt()
        if self.watcher.thread.is_alive():
            self.watcher.thread.join(timeout)

    def _changed(self, changes: list[Change]) -> None:
        """From the watch thread: build the new snapshot of items and index."""
        with self.guard:
            items = tuple(self.watcher.items.values())
            index: dict[Key, list[Obj]] = {}
            if self.index_fn is not None:
                for obj in items:
                    key = self.index_fn(obj)
                    if key is not None:
                        index.setdefault(key, []).append(obj)
            self._items = items
            self._index = MappingProxyType({k: tuple(v) for k, v in index.items()})
            self.version += 1
            self.guard.notify_all()

    @property
    def synced(self) -> bool:
        return self.watcher.synced.is_set()

    @property
    def problem(self) -> str:
        """Why the cache is not synced (the last error), or ""."""
        return "" if self.synced else (self.watcher.stats.last_error or "not loaded yet")

    def wait_synced(self, timeout: float) -> bool:
        """Wait for the first list, unless it has already failed (say, RBAC forbids it):
        then a page says so at once instead of waiting on every request."""
        if self.watcher.stats.last_error:
            return self.synced
        return self.watcher.synced.wait(timeout)

    def items(self) -> tuple[Obj, ...]:
        return self._items

    def lookup(self, *key: str) -> tuple[Obj, ...]:
        return self._index.get(tuple(key), ())

    def wait_until(self, predicate: Callable[[ResourceCache], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.guard:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopping.is_set():
                    return False
                self.guard.wait(remaining)
        return True


def _pod_model(pod: Obj) -> Key | None:
    metadata = pod.get("metadata") or {}
    model = (metadata.get("labels") or {}).get(MODEL_LABEL)
    return (str(metadata.get("namespace") or ""), str(model)) if model else None


def _event_target(event: Obj) -> Key | None:
    target = event.get("involvedObject") or {}
    return (str(target.get("namespace") or (event.get("metadata") or {}).get("namespace") or ""),
            str(target.get("kind") or ""), str(target.get("name") or ""))


def _list_fn(method: str, **selectors: str) -> Callable[[Caller], Any]:
    def bind(caller: Caller) -> Any:
        return functools.partial(getattr(client.CoreV1Api(caller.api), method), **selectors)
    return bind


def kubeai_config_ref(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """KMM_KUBEAI_CONFIG=namespace/name of KubeAI's system ConfigMap (default
    kubeai/kubeai-config, what KubeAI's chart makes for a release named kubeai); "" turns
    the fit checks off."""
    env = os.environ if environ is None else environ
    raw = env.get("KMM_KUBEAI_CONFIG", "kubeai/kubeai-config").strip()
    namespace, _, name = raw.partition("/")
    return (namespace, name) if namespace and name else None


# The kinds whose events the console shows: the Model's own, and those of what KubeAI runs
# for it (pods, the cache loader and evictor Jobs, the cache PVC). One watch per kind, as a
# field selector cannot say "one of".
EVENT_KINDS = ("Model", "Pod", "Job", "PersistentVolumeClaim")


@dataclass
class Fleet:
    """The watch caches the operator console reads."""

    pods: ResourceCache
    nodes: ResourceCache
    events: dict[str, ResourceCache]  # by involvedObject.kind
    config: ResourceCache | None
    config_ref: tuple[str, str] | None

    @property
    def caches(self) -> list[ResourceCache]:
        return [self.pods, self.nodes, *self.events.values(),
                *([self.config] if self.config is not None else [])]

    def events_of(self, namespace: str, kind: str, name: str) -> tuple[Obj, ...]:
        return self.events[kind].lookup(namespace, kind, name)

    def start(self) -> Fleet:
        for cache in self.caches:
            cache.start()
        return self

    def stop(self) -> None:
        for cache in self.caches:
            cache.stopping.set()
            cache.watcher.interrupt()
        for cache in self.caches:
            cache.stop()

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(c.wait_synced(max(0.0, deadline - time.monotonic())) for c in self.caches)

    def config_text(self) -> str | None:
        """system.yaml of KubeAI's ConfigMap, None when it is not there (or not loaded)."""
        if self.config is None or not self.config.synced:
            return None
        for item in self.config.items():
            text = (item.get("data") or {}).get("system.yaml")
            if text is not None:
                return str(text)
        return None


def new_fleet(caller: Caller, config_ref: tuple[str, str] | None) -> Fleet:
    config = None
    if config_ref is not None:
        namespace, name = config_ref
        # A list+watch narrowed to one name, so RBAC can grant this one ConfigMap
        # (resourceNames) and nothing else.
        config = ResourceCache(caller, f"configmap {namespace}/{name}",
                               _list_fn("list_namespaced_config_map",
                                        field_selector=f"metadata.name={name}"), (namespace,))
    events = {kind: ResourceCache(caller, f"{kind} events",
                                  _list_fn("list_event_for_all_namespaces",
                                           field_selector=f"involvedObject.kind={kind}"),
                                  index=_event_target)
              for kind in EVENT_KINDS}
    return Fleet(
        pods=ResourceCache(caller, "pods", _list_fn("list_pod_for_all_namespaces",
                                                     label_selector=MODEL_LABEL),
                           index=_pod_model),
        nodes=ResourceCache(caller, "nodes", _list_fn("list_node")),
        events=events, config=config, config_ref=config_ref,
    )


_process_fleet: Fleet | None = None
_process_pid = 0
_process_lock = threading.Lock()


def fleet() -> Fleet:
    """The process-wide watch caches, started on first use in this process (after any fork)."""
    global _process_fleet, _process_pid
    current = _process_fleet
    if current is not None and _process_pid == os.getpid():
        return current
    with _process_lock:
        if _process_fleet is None or _process_pid != os.getpid():
            _process_fleet = new_fleet(default_cluster().as_app(), kubeai_config_ref()).start()
            _process_pid = os.getpid()
        return _process_fleet


def reset_fleet() -> None:
    """Stop the process-wide caches; the next fleet() starts fresh ones (tests, reconfiguring)."""
    global _process_fleet
    with _process_lock:
        current, _process_fleet = _process_fleet, None
    if current is not None and _process_pid == os.getpid():
        current.stop()
