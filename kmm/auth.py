"""Who is calling: the identity each request uses on Kubernetes.

Modes (KMM_AUTH_MODE):
- token (default): the operator signs in with a Kubernetes bearer token (a
  ServiceAccount token or an OIDC id token), checked with a SelfSubjectReview.
  Every call of the session uses that token, so the cluster's RBAC decides.
  The token lives encrypted in the HttpOnly, signed session cookie: it never
  reaches JavaScript or the logs. Scripts send `Authorization: Bearer <token>`.
- proxy: behind an authenticating reverse proxy. The user and group headers are
  trusted only from KMM_PROXY_TRUSTED_CIDRS; kmm impersonates that user and
  those groups on every call.
- none: kmm's own credentials for everyone (an explicit opt-in; a banner says so).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string

import kube
from kmm import auth_sessions, auth_throttle
from kmm.addresses import client_address

log = logging.getLogger(__name__)

SESSION_TOKEN = "kmm_token"  # noqa: S105 - a session key name
SESSION_USER = "kmm_user"
BEARER_CACHE_SECONDS = 10.0  # as briefly as access answers: a revoked token stops soon


@dataclass(frozen=True)
class SignedIn:
    user: str
    caller: kube.Caller
    groups: tuple[str, ...] = field(default=())
    mode: str = "none"
    # How the identity arrived: "session", "bearer", "proxy" or "none". Unsafe
    # requests authenticated by a browser's ambient credentials need CSRF checks.
    via: str = "none"

    @property
    def needs_csrf(self) -> bool:
        return self.via != "bearer"


def _fernet() -> Fernet:
    key = hashlib.sha256(("kmm-session-token:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


class TooManyFailures(Exception):
    """This client address sent too many tokens the API server refused; wait a while."""


def review_token(token: str) -> kube.UserInfo:
    """Who this token is, according to the API server (raises kube.Unauthorized if nobody),
    on a one-off client: an unverified token never enters the client pool."""
    return kube.review_token(kube.default_cluster(), token)


def remember_token(request: HttpRequest, token: str, who: kube.UserInfo) -> None:
    """Start a session for this token; raises auth_sessions.CookieTooLarge (nothing kept)
    when the cookie would pass browsers' 4 KB limit. Groups are not kept: the token
    carries them to the API server."""
    request.session.cycle_key()
    # Compressed first: a JWT's base64 text shrinks by a quarter, which keeps a realistic
    # OIDC token with its group claims inside the 4 KB cookie.
    request.session[SESSION_TOKEN] = _fernet().encrypt(zlib.compress(token.encode(), 9)).decode()
    request.session[SESSION_USER] = who.user
    auth_sessions.start(request.session)
    try:
        auth_sessions.check_size(request.session)
    except auth_sessions.CookieTooLarge:
        request.session.flush()
        raise


def forget(request: HttpRequest) -> None:
    request.session.flush()


def sign_out(request: HttpRequest) -> bool:
    """End the session here and, through the revocation record, on every replica.
    False when the record could not be written (the cookie is gone from this browser)."""
    session_id = request.session.get(auth_sessions.SESSION_ID)
    recorded = True
    if session_id:
        try:
            auth_sessions.revoked.revoke(session_id)
        except kube.KubeError as exc:
            log.error("sign-out not recorded for other replicas: %s", exc)
            recorded = False
    request.session.flush()
    return recorded


class _BearerCache:
    """Recently reviewed bearer tokens (by hash), so scripts do not pay a review per call.

    Refused tokens are remembered briefly (a retry costs no API-server call), and each
    client address may send only so many refused tokens per window (kmm.auth_throttle).
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, kube.UserInfo]] = {}
        self._lock = threading.Lock()

    def identify(self, token: str, client: str = "") -> kube.UserInfo:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit and hit[0] > now:
            return hit[1]
        if key in auth_throttle.refused_tokens:
            raise kube.Unauthorized("The Kubernetes API server did not accept this token.")
        if not auth_throttle.bearer_failures.reserve(client):
            raise TooManyFailures
        try:
            who = review_token(token)
        except kube.Unauthorized:
            auth_throttle.refused_tokens.add(key)
            raise
        except kube.KubeError:
            auth_throttle.bearer_failures.release(client)  # not the client's failure
            raise
        auth_throttle.bearer_failures.release(client)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (now + BEARER_CACHE_SECONDS, who)
        return who


bearer_cache = _BearerCache()


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _trusted_proxy(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr, strict=False)
               for cidr in settings.KMM_PROXY_TRUSTED_CIDRS)


def identify(request: HttpRequest, mode: str) -> SignedIn | None:
    """The caller of this request, or None when it is not authenticated."""
    cluster = kube.default_cluster()
    if mode == "none":
        return SignedIn("kmm (no authentication)", cluster.as_app(), mode=mode)
    if mode == "proxy":
        if not _trusted_proxy(request):
            return None
        user = request.headers.get(settings.KMM_PROXY_USER_HEADER, "").strip()
        if not user:
            return None
        raw_groups = request.headers.get(settings.KMM_PROXY_GROUPS_HEADER, "")
        # Only groups the operator listed (KMM_PROXY_ALLOWED_GROUPS); never system:masters.
        allowed = settings.KMM_PROXY_ALLOWED_GROUPS
        groups = tuple(g for g in (g.strip() for g in raw_groups.split(","))
                       if g in allowed and g != "system:masters")
        return SignedIn(user, cluster.impersonating(user, groups), groups, mode, "proxy")
    token = _bearer_token(request)
    if token is not None:
        who = bearer_cache.identify(token, client_address(request))
        return SignedIn(who.user, cluster.as_token(token), who.groups, mode, "bearer")
    sealed = request.session.get(SESSION_TOKEN)
    if not sealed:
        return None
    try:
        token = zlib.decompress(_fernet().decrypt(sealed.encode())).decode()
    except (InvalidToken, zlib.error, UnicodeDecodeError):
        return None
    caller = cluster.as_token(token)
    if not auth_sessions.still_valid(request.session, token, caller.identity):
        forget(request)
        return None
    return SignedIn(request.session.get(SESSION_USER, "?"), caller, (), mode, "session")


def sign_in_required(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": "Authentication credentials were not provided or "
                                           "are not valid."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="kmm"'
        return response
    if settings.KMM_AUTH_MODE == "proxy":
        body = render_to_string("auth/proxy_required.html", request=request)
        return HttpResponse(body, status=401)
    target = "/signin/?" + urlencode({"next": request.get_full_path()})
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)
