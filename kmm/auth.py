"""Who is calling: the identity each request uses on Kubernetes.

Modes (KMM_AUTH_MODE):
- token: the operator signs in with a Kubernetes bearer token; every call of the
  session uses it, so the cluster's RBAC decides. The token is kept encrypted
  in the (HttpOnly, signed) session cookie and never reaches JavaScript or logs.
- none: the app's own credentials for everyone (explicit opt-in; a banner says so).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

import kube

SESSION_TOKEN = "kmm_token"  # noqa: S105 - a session key name
SESSION_USER = "kmm_user"
SESSION_GROUPS = "kmm_groups"


@dataclass(frozen=True)
class SignedIn:
    user: str
    caller: kube.Caller
    groups: tuple[str, ...] = field(default=())
    mode: str = "none"


def _fernet() -> Fernet:
    key = hashlib.sha256(("kmm-session-token:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def remember_token(request: HttpRequest, token: str, user: str, groups: list[str]) -> None:
    request.session.cycle_key()
    request.session[SESSION_TOKEN] = _fernet().encrypt(token.encode()).decode()
    request.session[SESSION_USER] = user
    request.session[SESSION_GROUPS] = groups


def forget(request: HttpRequest) -> None:
    request.session.flush()


def identify(request: HttpRequest, mode: str) -> SignedIn | None:
    if mode == "none":
        return SignedIn("kmm (no authentication)", kube.default_cluster().as_app(), mode=mode)
    if mode == "token":
        sealed = request.session.get(SESSION_TOKEN)
        if not sealed:
            return None
        try:
            token = _fernet().decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
        return SignedIn(request.session.get(SESSION_USER, "?"),
                        kube.default_cluster().as_token(token),
                        tuple(request.session.get(SESSION_GROUPS, ())), mode=mode)
    return None


def sign_in_required(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Authentication credentials were not provided."},
                            status=401)
    target = "/signin/?" + urlencode({"next": request.get_full_path()})
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)
