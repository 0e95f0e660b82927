"""The one check of namespace and model names, for every route, form, bulk key and API path.

Kubernetes' own rules: a namespace is a DNS label (at most 63 characters), a model's name
a DNS subdomain (at most 253; the CRD narrows new names to NAME_MAX_LENGTH, which
validation checks on create). Anything else never reaches a URL of the API server, where
"." or ".." would be path segments (a delete of the whole collection, or another path).
"""

from __future__ import annotations

import re

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NAMESPACE_MAX_LENGTH = 63
OBJECT_NAME_MAX_LENGTH = 253


def is_namespace_name(value: object) -> bool:
    return (isinstance(value, str) and len(value) <= NAMESPACE_MAX_LENGTH
            and DNS1123_LABEL.match(value) is not None)


def is_model_name(value: object) -> bool:
    return (isinstance(value, str) and len(value) <= OBJECT_NAME_MAX_LENGTH
            and DNS1123_SUBDOMAIN.match(value) is not None)


def model_key(key: str) -> tuple[str, str] | None:
    """("ns", "name") from a bulk action's "ns/name", or None when either part is invalid."""
    namespace, _, name = key.partition("/")
    if is_namespace_name(namespace) and is_model_name(name):
        return namespace, name
    return None
