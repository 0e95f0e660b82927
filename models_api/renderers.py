"""The browsable API, as a person reads it."""

from __future__ import annotations

from typing import Any

from rest_framework import renderers


def without_managed_fields(data: Any) -> Any:
    """Model objects without metadata.managedFields (server bookkeeping, hundreds of lines)."""
    if isinstance(data, list):
        return [without_managed_fields(item) for item in data]
    if not isinstance(data, dict):
        return data
    shown = {key: without_managed_fields(value) if key == "items" else value
             for key, value in data.items()}
    metadata = shown.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        shown["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return shown


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API without managedFields; ?format=json (or Accept: application/json)
    still returns them."""

    def get_content(self, renderer: Any, data: Any, accepted_media_type: Any,
                    renderer_context: Any) -> Any:
        return super().get_content(renderer, without_managed_fields(data), accepted_media_type,
                                   renderer_context)
