"""Issue 11's findings that need no cluster: each test failed on the code before its fix."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import RequestFactory

from models_ui import views


def _post(path: str, data: dict[str, Any], **extra: Any) -> Any:
    request = RequestFactory().post(path, data, **extra)
    request._messages = CookieStorage(request)  # type: ignore[attr-defined]
    return request


# --- finding 12: the bulk action's "next" link --------------------------------------------

@pytest.mark.parametrize("target", ["/\\evil.com", "//evil.com", "https://evil.com/",
                                    "/\\/evil.com", "\\\\evil.com", "javascript:alert(1)"])
def test_it_never_redirects_the_bulk_action_off_site(target: str) -> None:
    response = views.delete_selected(_post("/delete-selected/", {"next": target}))
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_keeps_a_local_next_link() -> None:
    response = views.delete_selected(_post("/delete-selected/", {"next": "/?namespace=a&p=2"}))
    assert response["Location"] == "/?namespace=a&p=2"
