"""One place where Kubernetes client calls are made and their failures translated."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from kube import errors
from kube.cluster import Caller
from modelspec.errors import FieldError
from modelspec.validation import locate_cause

# Failed API-server calls by HTTP status ("0" when the server could not be reached),
# read by /metrics.
API_ERRORS: Counter[str] = Counter()
_errors_lock = threading.Lock()


# When the API server last accepted each user token (by Identity.pool_key): a call made
# with the token that succeeded proves it was valid then (kube.access.TOKEN_LIVENESS_SECONDS).
TOKENS_ACCEPTED: dict[str, float] = {}
MAX_TOKENS_ACCEPTED = 50_000


def token_accepted(caller: Caller) -> None:
    if caller.identity.kind == "token":
        if len(TOKENS_ACCEPTED) >= MAX_TOKENS_ACCEPTED:
            TOKENS_ACCEPTED.clear()
        TOKENS_ACCEPTED[caller.identity.pool_key] = time.monotonic()


def count_error(status: int) -> None:
    with _errors_lock:
        API_ERRORS[str(status)] += 1


def call(caller: Caller, fn: Callable[..., Any], *args: Any, verb: str, resource: str,
         namespace: str | None = None, name: str | None = None, raw: bool = False,
         budgeted: bool = True, **kwargs: Any) -> Any:
    """Run one client call with the cluster's timeouts; raise only domain errors.

    `raw=True` skips the generated models and returns the parsed JSON body, which
    keeps every field exactly as the API server sent it (and is much faster).
    The call passes the cluster's gate (kube.cluster.Gate): within the budget of
    calls in flight, and refused at once (503) while the API server is known not
    to answer; `budgeted=False` (background work) passes without either.
    """
    kwargs.setdefault("_request_timeout", caller.cluster.timeout)
    if raw:
        kwargs["_preload_content"] = False
    gate = caller.cluster.gate
    with gate.admit(budgeted):
        try:
            result = fn(*args, **kwargs)
            if raw:
                result = result.data  # the body is read here: within the timeouts and the gate
        except ApiException as exc:
            gate.answered()
            if exc.status in (401, 403):  # what we remembered about this identity may be wrong
                from kube.access import forget_identity  # (kube.access imports this module)

                forget_identity(caller.identity, unauthorized=exc.status == 401)
            if exc.status == 401 and caller.identity.kind != "token":
                caller.cluster.reload_if_changed()  # a rotated token or a replaced cluster
            raise translate(exc, verb=verb, resource=resource, namespace=namespace,
                            name=name) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise unavailable(caller, exc) from None
    gate.answered()
    token_accepted(caller)
    if raw:
        return json.loads(result)
    return result


LIST_PAGE_SIZE = 500


def list_all(caller: Caller, fn: Callable[..., Any], *args: Any, resource: str,
             namespace: str | None = None, **kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    """Every item of a list call, page by page (`limit`/`continue`), and the last page's
    metadata (its resourceVersion is where a watch can start)."""
    items: list[Any] = []
    token: str | None = None
    while True:
        page_args: dict[str, Any] = {"limit": LIST_PAGE_SIZE}
        if token:
            page_args["_continue"] = token
        page = call(caller, fn, *args, verb="list", resource=resource, namespace=namespace,
                    raw=True, **kwargs, **page_args)
        items.extend(page.get("items") or [])
        metadata = page.get("metadata") or {}
        token = metadata.get("continue")
        if not token:
            return items, metadata


def unavailable(caller: Caller, exc: BaseException) -> errors.Unavailable:
    """The error for a call that got no answer; the cluster counts as down, and its
    configuration is loaded again if its files changed (a replaced API server)."""
    count_error(0)
    if not caller.cluster.reload_if_changed():
        caller.cluster.gate.no_answer()
    reason = type(getattr(exc, "reason", None) or exc).__name__
    return errors.Unavailable(
        f"The Kubernetes API server at {caller.cluster.server} cannot be reached ({reason}). "
        "Check that the cluster is up, then retry.",
        reason="Unavailable",
    )


def translate(exc: ApiException, *, verb: str, resource: str, namespace: str | None,
              name: str | None) -> errors.KubeError:
    status = exc.status or 0
    count_error(status)
    body = errors.status_body(exc.body)
    message = str(body.get("message") or exc.reason or "Kubernetes API error")
    reason = str(body.get("reason") or "")
    where = f" in namespace {namespace!r}" if namespace else ""
    target = f"{resource} {name!r}" if name else resource
    if status == 401:
        return errors.Unauthorized(
            "The Kubernetes API server did not accept the credentials (expired or invalid). "
            "Sign in again.", reason=reason)
    if status == 403:
        return errors.Forbidden(
            f"Forbidden: you may not {verb} {target}{where}. ({message})",
            reason=reason, verb=verb, resource=resource, namespace=namespace)
    if status == 404:
        return errors.NotFound(f"{target.capitalize()} was not found{where}.", reason=reason)
    if status == 409 and reason == "AlreadyExists":
        return errors.AlreadyExists(f"{target.capitalize()} already exists{where}.",
                                    reason=reason)
    if status == 409:
        return errors.Conflict(
            f"{target.capitalize()} was changed by someone else since you loaded it{where}. "
            "Reload it and apply your change again.", reason=reason)
    if status == 422 or reason == "Invalid":
        causes = (body.get("details") or {}).get("causes") or []
        field_errors = [locate_cause(str(c.get("field") or ""), str(c.get("message") or ""))
                        for c in causes]
        return errors.Invalid(message, reason=reason,
                              errors=field_errors or [FieldError("", message)])
    if status == 400:
        return errors.BadRequest(message, reason=reason)
    if status in (429, 500, 502, 503, 504) or status == 0:
        return errors.Unavailable(
            f"The Kubernetes API server could not handle the request ({status}: {message}). "
            "Retry in a moment.", reason=reason or "Unavailable")
    return errors.KubeError(f"Kubernetes API error {status}: {message}", status=502,
                            reason=reason)
