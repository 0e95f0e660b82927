"""One in-process list+watch cache of Models and namespaces, with the app's own identity.

Readers call `model_cache().snapshot()` and get an immutable `Snapshot`: a
version number that grows with the changes, the models sorted by namespace and
name, and indexes by namespace and by (namespace, name). Taking a snapshot is
one attribute read, with no lock.

The pieces, and what each costs:

- A `Watcher` lists one resource, then watches from the list's resourceVersion
  with bookmarks; on 410 Gone it lists again; when the API server drops or errors
  it reconnects with capped exponential backoff. It is generic: any list function
  and arguments, reporting changes to a callback, so other resources can use it.
  Any exception is caught and counted ("crash"), and `connected` is cleared in a
  `finally`; a thread that still dies shows in `alive`, which /readyz reads.
- An event costs the same whatever the number of models: the watch thread parses
  it and updates incremental indexes (a dict per namespace and its sorted names).
- A publisher thread turns the indexes into a new snapshot. It rebuilds only the
  namespaces that changed, and runs at a bounded rate (it rests nine times as long
  as its last build took), so a burst of events makes one snapshot, not one each.
- A monitor thread notices a hung API server: when every watch has been silent for
  SILENCE_SECONDS it asks the API server for one model (a cheap list); no answer
  within PROBE_TIMEOUT_SECONDS marks the cluster down (kube.calls answers fast 503s)
  and drops the watches, which reconnect as soon as the server answers again.
  A watch silent past its own server-side timeout is restarted too.

The process-wide cache starts lazily on first use in each process (under
gunicorn: in each worker, after the fork), never at import time.

The objects inside a snapshot are shared by every reader: never mutate them.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import json
import logging
import operator
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kube import errors
from kube.calls import call, list_all, translate, unavailable
from kube.cluster import CONNECT_TIMEOUT_SECONDS, Caller, default_cluster
from modelspec.schema import GROUP, PLURAL, VERSION

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]
Change = tuple[Key, Obj | None]  # the object as it is now; None: deleted

WATCH_SECONDS = (240, 300)  # server-side watch timeout, picked at random in this range
# No byte for this long on a watch stream means the connection is dead; normally the
# monitor's probe notices a hung server long before (see SILENCE_SECONDS).
READ_TIMEOUT_SECONDS = WATCH_SECONDS[1] + 30.0
SILENCE_SECONDS = 10.0  # every watch silent this long: probe the API server
PROBE_TIMEOUT_SECONDS = 5.0  # the probe's read timeout
MONITOR_SECONDS = 2.0  # how often the monitor looks
BACKOFF_SECONDS = (0.2, 5.0)  # first and largest pause between reconnection attempts
PUBLISH_REST_FACTOR = 9.0  # the publisher rests this many times its last build's duration
MODELS = f"{PLURAL}.{GROUP}"


class _Gone(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


# --- resource versions ---------------------------------------------------------------

def compare_resource_versions(a: str, b: str) -> int | None:
    """-1, 0 or 1 as resourceVersion `a` is older than, the same as, or newer than `b`.

    Kubernetes 1.35 made resourceVersions of one resource comparable (KEP-5504,
    conformance-tested; client-go's CompareResourceVersion): they are positive
    decimal integers without leading zeros, compared by length, then digit by
    digit. Every etcd-backed API server has always worked so (they are etcd
    revisions). None when either is not such an integer: then only equality means
    anything.
    """
    if not (_comparable(a) and _comparable(b)):
        return None
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    return (a > b) - (a < b)


def _comparable(version: str) -> bool:
    return bool(version) and version.isdigit() and version.isascii() and version[0] != "0"


# --- snapshots -----------------------------------------------------------------------

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Snapshot:
    """What the cache held at one moment. `version` grows with every published change."""

    version: int = 0
    synced: bool = False
    models: tuple[Obj, ...] = ()
    by_namespace: Mapping[str, tuple[Obj, ...]] = field(default_factory=lambda: _EMPTY)
    by_name: Mapping[str, Mapping[str, Obj]] = field(default_factory=lambda: _EMPTY)
    namespaces: tuple[str, ...] = ()
    resource_version: str = ""
    built_at: float = 0.0  # time.time() when this snapshot was built

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.by_name.get(namespace, _EMPTY).get(name)

    def in_namespace(self, namespace: str) -> tuple[Obj, ...]:
        return self.by_namespace.get(namespace, ())

    @functools.cached_property
    def by_key(self) -> Mapping[Key, Obj]:
        """Every model by (namespace, name); built on first use."""
        return MappingProxyType({(ns, name): obj for ns, names in self.by_name.items()
                                 for name, obj in names.items()})


@dataclass
class WatchStats:
    """Counters the metrics endpoint reads (plain numbers, no locking needed to read)."""

    lists: int = 0
    events: int = 0
    restarts: Counter[str] = field(default_factory=Counter)  # reason -> count
    connected: bool = False
    last_contact: float = 0.0  # time.monotonic() of the last list, event, bookmark or probe
    last_error: str = ""
    down_since: float = 0.0  # time.monotonic() of the first failure of the current outage


def _key(obj: Obj) -> Key:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _resource_version(obj: Obj | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


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


# --- the generic watcher ---------------------------------------------------------------

class Watcher:
    """List+watch of one resource, in its own thread, reporting changes to `on_change`.

    `list_fn(caller)` returns the client's list function for the resource, called
    with `args` plus list or watch options (e.g. `CoreV1Api(api).list_namespace`).
    `on_change(changes)` is called from the watch thread with the objects that
    changed (None for a deletion), after a list (the difference from before) and
    for each event; it must be quick. `items` holds the resource as last seen.
    """

    def __init__(self, caller: Caller, resource: str, list_fn: Callable[[Caller], Any],
                 args: tuple[Any, ...], on_change: Callable[[list[Change]], None],
                 stopping: threading.Event | None = None):
        self.caller = caller
        self.resource = resource
        self.list_fn = list_fn
        self.args = args
        self.on_change = on_change
        self.stopping = stopping or threading.Event()
        self.items: dict[Key, Obj] = {}
        self.resource_version: str | None = None
        self.resume_from: str | None = None  # see ModelCache.restart_watch
        self.synced = threading.Event()
        self.stats = WatchStats()
        self.response: Any = None
        self.generation = -1  # the cluster's configuration generation of resource_version
        self.watch_deadline = 0.0  # time.monotonic() past which this watch should have ended
        self.interrupted = False  # the current watch was dropped on purpose
        # The pause after a 403 (None: the usual backoff): a watch that is optional for
        # kmm's identity (see kube.watches.RbacWatch) need not ask every few seconds.
        self.forbidden_pause: float | None = None
        self.thread = threading.Thread(target=self._run, name=f"kmm-watch-{resource}",
                                       daemon=True)

    def start(self) -> Watcher:
        self.thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self.stopping.is_set()

    # --- the loop ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            failures = 0
            while not self.stopping.is_set():
                try:
                    if self.generation != self.caller.cluster.generation:
                        self.resource_version = None  # a new API server: its versions differ
                    if self.resource_version is None:
                        self.relist()
                    self.watch()
                    failures = 0
                except _Gone:
                    self.stats.restarts["gone"] += 1
                    log.info("watch of %s: resourceVersion %s expired (410 Gone); listing again",
                             self.resource, self.resource_version)
                    self.resource_version = None
                except Exception as exc:  # any failure: count, back off, retry
                    if self.stopping.is_set():
                        break
                    failures += 1
                    self._failed(exc, failures)
                    pause = min(BACKOFF_SECONDS[1], BACKOFF_SECONDS[0] * 2 ** (failures - 1))
                    if self.forbidden_pause is not None and isinstance(exc, errors.Forbidden):
                        pause = self.forbidden_pause
                    self.stopping.wait(pause * random.uniform(0.8, 1.2))
        finally:
            self.stats.connected = False
            if not self.stopping.is_set():
                log.error("watch of %s: its thread stopped", self.resource)

    def _failed(self, exc: Exception, failures: int) -> None:
        known = isinstance(exc, errors.KubeError | urllib3.exceptions.HTTPError | OSError)
        self.stats.restarts["error" if known else "crash"] += 1
        self.stats.last_error = str(exc) or type(exc).__name__
        was_connected, self.stats.connected = self.stats.connected, False
        if not self.stats.down_since:
            self.stats.down_since = time.monotonic()
        # Log the change of state once, not every retry of an outage.
        if not known:
            log.exception("watch of %s crashed; restarting it", self.resource)
        elif was_connected or failures == 1:
            log.warning("watch of %s lost (%s); reconnecting", self.resource, exc)
        else:
            log.debug("watch of %s: retry %d failed (%s)", self.resource, failures, exc)

    def _contact(self) -> None:
        now = time.monotonic()
        if self.stats.down_since and not self.stats.connected:
            log.warning("watch of %s: back in touch after %.1fs", self.resource,
                        now - self.stats.down_since)
        self.stats.down_since = 0.0
        self.stats.connected = True
        self.stats.last_contact = now
        self.caller.cluster.gate.answered()

    def relist(self) -> None:
        caller = self.caller
        generation = caller.cluster.generation
        listed, metadata = list_all(caller, self.list_fn(caller), *self.args,
                                    resource=self.resource, budgeted=False)
        items: dict[Key, Obj] = {_key(obj): obj for obj in listed}
        self.stats.lists += 1
        self._contact()
        changes: list[Change] = [(key, obj) for key, obj in items.items()
                                 if _resource_version(self.items.get(key)) != _resource_version(obj)
                                 or key not in self.items]
        changes += [(key, None) for key in self.items if key not in items]
        self.items = items
        self.resource_version = str(metadata.get("resourceVersion") or "")
        self.generation = generation
        self.on_change(changes)
        self.synced.set()
        self.on_change([])  # synced: let the owner publish even when nothing changed

    def watch(self) -> None:
        caller = self.caller
        timeout = random.randint(*WATCH_SECONDS)
        if self.resume_from is not None:
            self.resource_version, self.resume_from = self.resume_from, None
        try:
            response = self.list_fn(caller)(
                *self.args, watch=True, resource_version=self.resource_version,
                allow_watch_bookmarks=True, timeout_seconds=timeout,
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
        self.interrupted = False
        self.watch_deadline = time.monotonic() + timeout + SILENCE_SECONDS
        try:
            if self.stopping.is_set():
                return
            self._contact()
            for line in _lines(response):
                self.handle(json.loads(line))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # Dropped on purpose (stop, restart_watch, the monitor): not the server's doing.
            if not (self.stopping.is_set() or self.interrupted):
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
        resource_version = _resource_version(obj)
        if resource_version:
            self.resource_version = resource_version
        if kind == "BOOKMARK":
            return
        self.stats.events += 1
        key = _key(obj)
        if kind == "DELETED":
            self.items.pop(key, None)
            self.on_change([(key, None)])
        else:
            self.items[key] = obj
            self.on_change([(key, obj)])

    def interrupt(self) -> None:
        """Drop the current watch connection; the loop reconnects."""
        response = self.response
        if response is not None:
            self.interrupted = True
            with contextlib.suppress(ValueError, RuntimeError, OSError, AttributeError):
                response.shutdown()

    def probe(self) -> bool:
        """Whether the API server answers a cheap list of this resource right now."""
        try:
            call(self.caller, self.list_fn(self.caller), *self.args, verb="list",
                 resource=self.resource, raw=True, budgeted=False, limit=1,
                 _request_timeout=(CONNECT_TIMEOUT_SECONDS, PROBE_TIMEOUT_SECONDS))
        except errors.Unavailable as exc:
            self.stats.last_error = str(exc)
            return False
        except errors.KubeError:
            return True  # it answered (with an error): it is not hung
        return True


def _custom_namespaced(caller: Caller) -> Callable[..., Any]:
    return client.CustomObjectsApi(caller.api).list_namespaced_custom_object


def _custom(caller: Caller) -> Callable[..., Any]:
    return client.CustomObjectsApi(caller.api).list_cluster_custom_object


def _namespaces(caller: Caller) -> Callable[..., Any]:
    return client.CoreV1Api(caller.api).list_namespace


def _combined(stats: list[WatchStats]) -> WatchStats:
    if len(stats) == 1:
        return stats[0]
    restarts: Counter[str] = Counter()
    for one in stats:
        restarts.update(one.restarts)
    return WatchStats(lists=sum(s.lists for s in stats), events=sum(s.events for s in stats),
                      restarts=restarts, connected=all(s.connected for s in stats),
                      last_contact=min((s.last_contact for s in stats), default=0.0),
                      last_error=next((s.last_error for s in stats if s.last_error), ""))


def _sorted_tuple(names: list[str], objects: Mapping[str, Obj]) -> tuple[Obj, ...]:
    if not names:
        return ()
    if len(names) == 1:
        return (objects[names[0]],)
    return operator.itemgetter(*names)(objects)  # type: ignore[no-any-return]  # one C call


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
            self.model_watchers = [self._watcher(MODELS, _custom, (GROUP, VERSION, PLURAL),
                                                 self._models_changed)]
        else:
            self.model_watchers = [
                self._watcher(f"{MODELS} in {ns}", _custom_namespaced,
                              (GROUP, VERSION, ns, PLURAL), self._models_changed)
                for ns in self.namespaces]
        self.models = self.model_watchers[0] if self.model_watchers else self._watcher(
            MODELS, _custom, (GROUP, VERSION, PLURAL), self._models_changed)
        self.namespace_watch = self._watcher("namespaces", _namespaces, (),
                                             self._namespaces_changed)
        # The incremental indexes, changed by the watch threads under `_lock`.
        self._lock = threading.Lock()
        self._objects: dict[str, dict[str, Obj]] = {}  # namespace -> name -> model
        self._names: dict[str, list[str]] = {}  # namespace -> sorted names
        self._dirty: set[str] = set()  # namespaces changed since the last snapshot
        self._changes = 0  # changes seen (the snapshot's version follows it)
        self._namespace_names: set[str] = set()
        self._pending = threading.Event()  # something to publish
        self._snapshot = Snapshot()
        # Readers waiting for a snapshot (wait_until) wait on this; the publisher notifies.
        self.published = threading.Condition()
        self.publisher = threading.Thread(target=self._publish_loop, name="kmm-cache-publish",
                                          daemon=True)
        self.monitor = threading.Thread(target=self._monitor_loop, name="kmm-cache-monitor",
                                        daemon=True)
        self.last_build_seconds = 0.0
        self.builds = 0  # snapshots built, and the CPU seconds they took (for the benchmark)
        self.build_seconds = 0.0
        self.started = False

    def _watcher(self, resource: str, list_fn: Callable[[Caller], Any], args: tuple[Any, ...],
                 on_change: Callable[[list[Change]], None]) -> Watcher:
        return Watcher(self.caller, resource, list_fn, args, on_change, self.stopping)

    @property
    def watchers(self) -> list[Watcher]:
        if self.namespaces is None:
            return [*self.model_watchers, self.namespace_watch]
        return list(self.model_watchers)

    def start(self) -> ModelCache:
        if not self.started:
            self.started = True
            self.publisher.start()
            self.monitor.start()
            for watcher in self.watchers:
                watcher.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self._pending.set()
        for watcher in self.watchers:
            watcher.interrupt()
        for thread in [*(w.thread for w in self.watchers), self.publisher, self.monitor]:
            if thread.is_alive():
                thread.join(timeout)
        with self.published:
            self.published.notify_all()

    # --- readers ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def synced(self) -> bool:
        """Every watch (models, and namespaces when watched) has listed once."""
        return all(w.synced.is_set() for w in self.watchers)

    @property
    def connected(self) -> bool:
        """Whether the model watches are currently in touch with the API server."""
        return all(w.stats.connected for w in self.model_watchers)

    def stopped_threads(self) -> list[str]:
        """Names of this cache's threads that have died (empty while all run)."""
        if not self.started or self.stopping.is_set():
            return []
        threads = [*(w.thread for w in self.watchers), self.publisher, self.monitor]
        return [thread.name for thread in threads if not thread.is_alive()]

    def age(self) -> float:
        """Seconds since the API server last told the cache anything (list, event, bookmark)."""
        last = min((w.stats.last_contact for w in self.model_watchers), default=0.0)
        return time.monotonic() - last if last else float("inf")

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not all(w.synced.wait(max(0.0, deadline - time.monotonic()))
                   for w in self.watchers):
            return False
        # The first snapshot follows the sync within a moment.
        return self.wait_until(lambda s: s.synced, max(0.0, deadline - time.monotonic()))

    def wait_until(self, predicate: Callable[[Snapshot], bool], timeout: float) -> bool:
        """Wait until `predicate(snapshot)` holds (checked after each published snapshot)."""
        deadline = time.monotonic() + timeout
        with self.published:
            while not predicate(self._snapshot):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopping.is_set():
                    return False
                self.published.wait(remaining)
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

    # --- the watch threads: incremental indexes ---------------------------------------

    def _models_changed(self, changes: list[Change]) -> None:
        with self._lock:
            for (namespace, name), obj in changes:
                objects = self._objects.get(namespace)
                if obj is None:
                    if objects is None or objects.pop(name, None) is None:
                        continue
                    names = self._names[namespace]
                    del names[bisect.bisect_left(names, name)]
                    if not objects:
                        del self._objects[namespace], self._names[namespace]
                else:
                    if objects is None:
                        objects = self._objects[namespace] = {}
                        self._names[namespace] = []
                    if name not in objects:
                        bisect.insort(self._names[namespace], name)
                    objects[name] = obj
                self._dirty.add(namespace)
                self._changes += 1
        self._pending.set()

    def _namespaces_changed(self, changes: list[Change]) -> None:
        with self._lock:
            for (_, name), obj in changes:
                if obj is None:
                    self._namespace_names.discard(name)
                else:
                    self._namespace_names.add(name)
                self._changes += 1
        self._pending.set()

    # --- the publisher -----------------------------------------------------------------

    def _publish_loop(self) -> None:
        while not self.stopping.is_set():
            self._pending.wait()
            if self.stopping.is_set():
                break
            self._pending.clear()
            started = time.thread_time()  # CPU time: waiting for the GIL is not building
            try:
                self._publish()
            except Exception:  # a bad object must not stop publication
                log.exception("watch cache: building a snapshot failed")
            self.last_build_seconds = time.thread_time() - started
            self.builds += 1
            self.build_seconds += self.last_build_seconds
            # Bounded rate: events arriving meanwhile are published together afterwards.
            self.stopping.wait(self.last_build_seconds * PUBLISH_REST_FACTOR)

    def _publish(self) -> None:
        previous = self._snapshot
        synced = self.synced
        with self._lock:
            if self._changes == 0 and previous.synced == synced and previous.version:
                return
            changes, self._changes = self._changes, 0
            dirty, self._dirty = self._dirty, set()
            by_namespace = dict(previous.by_namespace)
            by_name = dict(previous.by_name)
            for namespace in dirty:
                objects = self._objects.get(namespace)
                if objects is None:
                    by_namespace.pop(namespace, None)
                    by_name.pop(namespace, None)
                else:
                    by_namespace[namespace] = _sorted_tuple(self._names[namespace], objects)
                    by_name[namespace] = MappingProxyType(dict(objects))
            namespace_names = set(self._namespace_names)
        ordered = sorted(by_namespace)
        names = (set(self.namespaces) if self.namespaces is not None else namespace_names)
        snapshot = Snapshot(
            version=previous.version + max(changes, 1),
            synced=synced,
            models=tuple(itertools.chain.from_iterable(by_namespace[ns] for ns in ordered)),
            by_namespace=MappingProxyType({ns: by_namespace[ns] for ns in ordered}),
            by_name=MappingProxyType(by_name),
            namespaces=tuple(sorted(names | set(by_namespace))),
            resource_version=self.models.resource_version or "",
            built_at=time.time(),
        )
        with self.published:
            self._snapshot = snapshot
            self.published.notify_all()

    # --- the monitor -------------------------------------------------------------------

    def _monitor_loop(self) -> None:
        probed_at = 0.0
        while not self.stopping.wait(MONITOR_SECONDS):
            try:
                now = time.monotonic()
                watchers = self.watchers
                for watcher in watchers:
                    if watcher.response is not None and now > watcher.watch_deadline:
                        log.warning("watch of %s: silent past its timeout; restarting it",
                                    watcher.resource)
                        watcher.stats.restarts["silent"] += 1
                        watcher.interrupt()
                last = max((w.stats.last_contact for w in watchers), default=0.0)
                if not self.synced or now - max(last, probed_at) < SILENCE_SECONDS:
                    continue
                probed_at = now
                if self.models.probe():
                    for watcher in watchers:
                        if watcher.stats.connected:  # quiet, not hung
                            watcher.stats.last_contact = now
                    continue
                self.caller.cluster.gate.no_answer()
                for watcher in watchers:
                    if watcher.stats.connected:
                        log.warning("watch of %s: the API server does not answer; "
                                    "reconnecting", watcher.resource)
                        watcher.stats.restarts["hung"] += 1
                        watcher.stats.connected = False
                        watcher.stats.down_since = watcher.stats.down_since or now
                    watcher.interrupt()
            except Exception:  # the monitor must keep running
                log.exception("watch cache monitor failed")


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


def shows_write(snapshot: Snapshot, namespace: str, name: str, written: Obj | None,
                before: str = "") -> bool:
    """Whether `snapshot` shows a write or anything newer (`written` None: a deletion).

    A newer write by someone else (KubeAI writing status right after kmm) counts:
    the cache may publish both in one snapshot and never show ours alone.
    `before` is the version the cache showed when the wait began, used only when
    versions are not comparable integers: then any other version counts.
    """
    current = snapshot.get(namespace, name)
    if written is None:
        return current is None
    if current is None:
        return False
    if (current.get("metadata") or {}).get("uid") != (written.get("metadata") or {}).get("uid"):
        return False  # an older object of the same name (or a newer one: not ours to judge)
    seen, wanted = _resource_version(current), _resource_version(written)
    order = compare_resource_versions(seen, wanted)
    if order is None:
        return seen == wanted or (bool(before) and seen != before)
    return order >= 0


def wait_for_write(namespace: str, name: str, written: Obj | None,
                   timeout: float = 1.0) -> bool:
    """Wait until the process-wide cache shows a write or a newer version (`written` None:
    the deletion), so the writer's next list shows it too. Gives up quietly after `timeout`."""
    cache = model_cache()
    before = _resource_version(cache.snapshot().get(namespace, name))
    return cache.wait_until(lambda s: shows_write(s, namespace, name, written, before), timeout)


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
