"""Sign-in with a Kubernetes bearer token (token mode), and sign-out."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

import kube
from kmm import auth
from kmm.addresses import client_address
from kmm.auth_sessions import CookieTooLarge
from kmm.auth_throttle import sign_in_failures
from kmm.security import local_url


class SignInForm(forms.Form):
    token = forms.CharField(
        label="Kubernetes bearer token", strip=True, max_length=16384,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="A ServiceAccount token (kubectl create token NAME) or an OIDC id token. "
                  "kmm checks it with the API server and uses it for everything you do.")


def _next_url(request: HttpRequest) -> str:
    return local_url(request, request.POST.get("next") or request.GET.get("next") or "/")


@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if settings.KMM_AUTH_MODE != "token":
        return redirect("/")
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST":
        client = client_address(request)
        if form.is_valid() and not sign_in_failures.reserve(client):
            form.add_error(None, "Too many failed sign-ins from your address. Wait a few "
                                 "minutes, then try again.")
            return render(request, "auth/signin.html", {"form": form, "next": _next_url(request)},
                          status=429)
        if form.is_valid():
            try:
                who = auth.review_token(form.cleaned_data["token"])
            except kube.Unauthorized:  # the reservation stays: a failure
                form.add_error("token", "The API server did not accept this token (it may be "
                                        "expired, or for another cluster).")
            except kube.KubeError:
                sign_in_failures.release(client)
                raise
            else:
                sign_in_failures.release(client)
                try:
                    auth.remember_token(request, form.cleaned_data["token"], who)
                except CookieTooLarge as too_large:
                    form.add_error("token", f"This token is too large to keep in a browser "
                                            f"cookie ({too_large.size:,} bytes with the session; "
                                            f"browsers keep at most 4,096). Use a shorter token "
                                            f"(a ServiceAccount token, or an id token with fewer "
                                            f"claims), or proxy mode.")
                else:
                    messages.success(request, f"Signed in as {who.user}.")
                    return HttpResponseRedirect(_next_url(request))
        status = 400
    return render(request, "auth/signin.html", {"form": form, "next": _next_url(request)},
                  status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if auth.sign_out(request):
        messages.info(request, "Signed out.")
    else:
        messages.warning(request, "Signed out here, but the sign-out could not be recorded for "
                                  "kmm's other replicas: a copy of the session cookie stays "
                                  "valid there until it expires.")
    return redirect("signin" if settings.KMM_AUTH_MODE == "token" else "/")
