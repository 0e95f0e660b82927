"""The name rules, once: what Kubernetes and KubeAI accept as a model's name and namespace.

A Model's name is a DNS-1123 subdomain (Kubernetes' rule for custom resources)
of at most `NAME_MAX_LENGTH` characters (KubeAI's own CEL rule, stricter than
Kubernetes' 253); a namespace is a DNS-1123 label. Label and annotation keys
have an optional DNS-subdomain prefix. Forms, the REST API, the schema's CEL
rule and path checks all read these.
"""

from __future__ import annotations

import re

NAME_MAX_LENGTH = 40  # KubeAI: size(self.metadata.name) <= 40
SUBDOMAIN_MAX_LENGTH = 253
LABEL_MAX_LENGTH = 63

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")

# The same rules as single regular expressions with the length built in, for OpenAPI.
MODEL_NAME_PATTERN = rf"^[a-z0-9]([-a-z0-9.]{{0,{NAME_MAX_LENGTH - 2}}}[a-z0-9])?$"
NAMESPACE_PATTERN = rf"^[a-z0-9]([-a-z0-9]{{0,{LABEL_MAX_LENGTH - 2}}}[a-z0-9])?$"

SUBDOMAIN_MESSAGE = ("Must consist of lower case alphanumeric characters, '-' or '.', and must "
                     "start and end with an alphanumeric character.")
NAME_HELP = (f"Lower case letters, digits, '-' and '.', starting and ending with a letter or "
             f"digit; at most {NAME_MAX_LENGTH} characters.")
NAMESPACE_HELP = (f"A DNS label: at most {LABEL_MAX_LENGTH} lower case letters, digits or '-', "
                  "starting and ending with a letter or digit.")


def is_dns_subdomain(value: object, max_length: int = SUBDOMAIN_MAX_LENGTH) -> bool:
    return isinstance(value, str) and len(value) <= max_length and bool(DNS1123_SUBDOMAIN.match(value))


def is_dns_label(value: object) -> bool:
    return isinstance(value, str) and len(value) <= LABEL_MAX_LENGTH and bool(DNS1123_LABEL.match(value))


def model_name_problem(name: object) -> str | None:
    """Why `name` cannot name a Model, or None when it can."""
    if not name:
        return "This field is required."
    if not is_dns_subdomain(name):
        return SUBDOMAIN_MESSAGE
    if len(str(name)) > NAME_MAX_LENGTH:
        return f"name must not exceed {NAME_MAX_LENGTH} characters."
    return None


def namespace_problem(namespace: object) -> str | None:
    """Why `namespace` cannot name a namespace, or None when it can."""
    if not namespace:
        return "This field is required."
    if not is_dns_label(namespace):
        return "Must be a DNS label: " + NAMESPACE_HELP[len("A DNS label: "):]
    return None


# Route and bulk-key checks (issue 11): anything Kubernetes could hold as a name may reach
# a URL; the KubeAI length rule applies when a Model is created (model_name_problem).
def is_namespace_name(value: object) -> bool:
    return is_dns_label(value)


def is_model_name(value: object) -> bool:
    return is_dns_subdomain(value)


def model_key(key: str) -> tuple[str, str] | None:
    """("ns", "name") from a bulk action's "ns/name", or None when either part is invalid."""
    namespace, _, name = key.partition("/")
    if is_namespace_name(namespace) and is_model_name(name):
        return namespace, name
    return None
