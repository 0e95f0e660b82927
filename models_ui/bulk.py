"""The change list's bulk actions: which models were selected, and one action on each."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest

import kube
from modelspec.names import model_key


def selected_models(request: HttpRequest) -> list[tuple[str, str]]:
    """(namespace, name) of each model selected in the change list. An entry that is not a
    model's key is left out with a warning, never echoed: a key may carry any text."""
    posted = sorted(set(request.POST.getlist("selected")))
    targets = [target for key in posted if (target := model_key(key)) is not None]
    if len(targets) != len(posted):
        messages.warning(request, f"{len(posted) - len(targets)} of the selected entries were "
                                  "not model names and were left out.")
    return targets


def apply_to_each(request: HttpRequest, targets: list[tuple[str, str]],
                  action: Callable[[str, str], None], not_done: str, done: str) -> None:
    """Run `action` on each model and say how it went: a message per model that failed
    ("… was not {not_done}: why") and one for those done (`done`, with {count} and {s})."""
    count = 0
    for namespace, name in targets:
        try:
            action(namespace, name)
            count += 1
        except kube.NotFound:
            messages.warning(request, f"“{namespace}/{name}” was already gone.")
        except kube.KubeError as exc:
            messages.error(request, f"“{namespace}/{name}” was not {not_done}: {exc.message}")
    if count:
        messages.success(request, done.format(count=count, s="s" if count != 1 else ""))
