"""kmm's service layer: the only code that talks to Kubernetes.

Import what you need from here; `kubernetes` itself is never imported elsewhere.
"""

from kube.access import (
    UserInfo,
    allowed,
    can_i,
    forget_access,
    forget_identity,
    listable_namespaces,
    require_list,
    review_token,
    token_rejected,
    visible_version,
    who_am_i,
)
from kube.cluster import Caller, Cluster, Identity, default_cluster, set_default_cluster
from kube.crds import installed_crd
from kube.errors import (
    AlreadyExists,
    BadRequest,
    ConfigurationError,
    Conflict,
    Forbidden,
    Invalid,
    KubeError,
    NotFound,
    Unauthorized,
    Unavailable,
)
from kube.models import (
    create_model,
    delete_model,
    get_model,
    list_model_events,
    list_models,
    list_models_with_version,
    patch_model,
    replace_model,
    update_model,
)
from kube.namespaces import create_namespace, delete_namespace, list_namespaces, server_version
from kube.patch import apply_merge_patch, change_patch, merge_patch, writable

__all__ = [
    "AlreadyExists",
    "BadRequest",
    "Caller",
    "Cluster",
    "ConfigurationError",
    "Conflict",
    "Forbidden",
    "Identity",
    "Invalid",
    "KubeError",
    "NotFound",
    "Unauthorized",
    "Unavailable",
    "UserInfo",
    "allowed",
    "apply_merge_patch",
    "can_i",
    "change_patch",
    "create_model",
    "create_namespace",
    "default_cluster",
    "delete_model",
    "delete_namespace",
    "forget_access",
    "forget_identity",
    "get_model",
    "installed_crd",
    "list_model_events",
    "list_models",
    "list_models_with_version",
    "list_namespaces",
    "listable_namespaces",
    "merge_patch",
    "patch_model",
    "replace_model",
    "require_list",
    "review_token",
    "server_version",
    "set_default_cluster",
    "token_rejected",
    "update_model",
    "visible_version",
    "who_am_i",
    "writable",
]
