"""URL converters: a route matches only names Kubernetes can hold (modelspec.names), so
"." or ".." or a sentence never reaches a view, a message or the API server: a 404."""

from __future__ import annotations

from modelspec.names import is_model_name, is_namespace_name


class NamespaceConverter:
    regex = r"[a-z0-9][-a-z0-9]*"

    def to_python(self, value: str) -> str:
        if not is_namespace_name(value):
            raise ValueError(value)
        return value

    def to_url(self, value: str) -> str:
        return value


class ModelNameConverter(NamespaceConverter):
    regex = r"[a-z0-9][-a-z0-9.]*"

    def to_python(self, value: str) -> str:
        if not is_model_name(value):
            raise ValueError(value)
        return value
