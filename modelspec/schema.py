"""The one description of the KubeAI Model resource (models.kubeai.org/v1).

Everything else is derived from the tree below: the project's CRD manifest
(`modelspec.crd`), client-side validation (`modelspec.validation`), the Django
form fields and the DRF serializers. Each CEL rule carries a Python twin so the
UI can explain a mistake before the API server sees it; the API server stays the
final judge.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from modelspec.listing import ANNOTATION_PREFIX
from modelspec.names import NAME_MAX_LENGTH

GROUP = "kubeai.org"
VERSION = "v1"
KIND = "Model"
PLURAL = "models"
SINGULAR = "model"
API_VERSION = f"{GROUP}/{VERSION}"
RESOURCE = f"{PLURAL}.{GROUP}"  # "models.kubeai.org": the CRD's name, and RBAC's resource

ENGINES = ("OLlama", "VLLM", "FasterWhisper", "Infinity")
FEATURES = ("TextGeneration", "TextEmbedding", "Reranking", "SpeechToText")
LOAD_BALANCING_STRATEGIES = ("LeastLoad", "PrefixHash")
# As upstream's rule lists them (kubeai-project/kubeai#661, commit bc9b4407, put oci:// first).
# An oci:// model is an OCI image mounted as an image volume: upstream added no engine rule,
# and its unchanged cacheProfile rule (CACHEABLE_URL_PREFIXES) refuses a cache profile for it.
URL_PREFIXES = ("oci://", "hf://", "pvc://", "ollama://", "s3://", "gs://", "oss://")
# Upstream's format for every model URL (kubeai-project/kubeai#656), the same regex its
# controller parses URLs with: no spaces, and no "@" (so no oci://...@sha256: digests).
URL_PATTERN = r"^([a-z0-9]+):\/\/([a-zA-Z0-9._:/-]+)(\?.*)?$"
CACHEABLE_URL_PREFIXES = ("hf://", "s3://", "gs://", "oss://")
ADAPTER_URL_PREFIXES = CACHEABLE_URL_PREFIXES
CACHE_ONLY_URL_PREFIXES = ("gs://", "oss://")

Check = Callable[..., bool]


@dataclass(frozen=True)
class Rule:
    """A validation rule: the CEL expression the API server runs and its Python twin.

    `check(self)` (or `check(self, old)` for transition rules) returns True when the
    value is valid. `field` names the child field an object-level rule is about, so
    its message lands next to that field. A rule without `cel` is client-side only.
    """

    message: str
    check: Check
    cel: str | None = None
    transition: bool = False
    field: str | None = None
    reason: str = ""  # for a transition rule: why the form shows the field read-only


@functools.lru_cache(maxsize=64)
def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A schema `pattern` as the API server reads it: in Go's regexp, `$` is the end of the
    text, while Python's also matches before a trailing newline ("hf://x\\n")."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


@dataclass(frozen=True)
class Node:
    """One node of the OpenAPI v3 schema, plus what forms need (label, help)."""

    type: str  # string | integer | boolean | object | array
    description: str = ""
    label: str = ""
    enum: tuple[str, ...] = ()
    default: Any = None
    minimum: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    max_items: int | None = None
    format: str | None = None
    properties: Mapping[str, Node] = field(default_factory=lambda: MappingProxyType({}))
    required: tuple[str, ...] = ()
    items: Node | None = None
    additional_properties: Node | None = None
    rules: tuple[Rule, ...] = ()
    map_type: str | None = None
    section: str = ""  # the form's fieldset (a slug of SECTIONS), on top-level spec fields
    preserve_unknown: bool = False  # x-kubernetes-preserve-unknown-fields

    def child(self, name: str) -> Node:
        return self.properties[name]


def props(**nodes: Node) -> Mapping[str, Node]:
    return MappingProxyType(dict(nodes))


def _starts_with_any(prefixes: tuple[str, ...]) -> Check:
    return lambda value: isinstance(value, str) and value.startswith(prefixes)


def _cel_starts_with_any(prefixes: tuple[str, ...], subject: str = "self") -> str:
    return " || ".join(f'{subject}.startsWith("{prefix}")' for prefix in prefixes)


def _unchanged(value: Any, old: Any) -> bool:
    return bool(value == old)


def _unique_file_paths(spec: Mapping[str, Any]) -> bool:
    paths = [f.get("path") for f in spec.get("files") or [] if isinstance(f, Mapping)]
    return len(paths) == len(set(paths))


def _min_not_above_max(spec: Mapping[str, Any]) -> bool:
    if "maxReplicas" not in spec or "minReplicas" not in spec:
        return True
    low, high = spec["minReplicas"], spec["maxReplicas"]
    return not (isinstance(low, int) and isinstance(high, int) and low > high)


# Not in KubeAI's CRD: kmm's own bound on model and adapter URLs, checked before anything is
# sent (a Model object is at most ~1.5 MB in etcd; a URL is a few hundred characters).
URL_MAX_LENGTH = 2048
URL_LENGTH_RULE = Rule(
    message=f"url must be at most {URL_MAX_LENGTH} characters.",
    check=lambda url: len(url) <= URL_MAX_LENGTH,
)


def _url(spec: Mapping[str, Any]) -> str:
    url = spec.get("url")
    return url if isinstance(url, str) else ""


REF_NAME_DESCRIPTION = (
    "Name of the referent.\nThis field is effectively required, but due to backwards "
    "compatibility is\nallowed to be empty. Instances of this type with an empty value here are\n"
    "almost certainly wrong.\nMore info: https://kubernetes.io/docs/concepts/overview/"
    "working-with-objects/names/#names"
)


def _env_ref(kind: str) -> Node:
    return Node(
        "object",
        description=f"The {kind} to select from",
        map_type="atomic",
        properties=props(
            name=Node("string", default="", description=REF_NAME_DESCRIPTION, label=f"{kind} name"),
            optional=Node(
                "boolean",
                description=f"Specify whether the {kind} must be defined",
                label="Optional",
            ),
        ),
    )


ADAPTER = Node(
    "object",
    required=("name", "url"),
    properties=props(
        name=Node(
            "string",
            label="Adapter name",
            description="Name must be a lowercase string with no spaces.",
            max_length=63,
            pattern=r"^[a-z0-9-]+$",
        ),
        url=Node(
            "string",
            label="Adapter URL",
            rules=(
                Rule(
                    message='adapter url must start with "hf://", "s3://", "gs://", or "oss://".',
                    check=_starts_with_any(ADAPTER_URL_PREFIXES),
                    cel=_cel_starts_with_any(ADAPTER_URL_PREFIXES),
                ),
                URL_LENGTH_RULE,
            ),
        ),
    ),
)

FILE = Node(
    "object",
    description="File represents a file to be mounted in the model pod.",
    required=("content", "path"),
    properties=props(
        content=Node(
            "string",
            label="Content",
            description="Content of the file to be mounted.\n"
            "Will be injected into a ConfigMap and mounted in the model Pods.",
            max_length=100000,
        ),
        path=Node(
            "string",
            label="Path",
            description="Path where the file should be mounted in the pod.\nMust be an absolute path.",
            max_length=1024,
            rules=(
                Rule(
                    message="Path must be an absolute path, starting with /, "
                    "and must not contain a ':' character.",
                    check=lambda p: isinstance(p, str) and p.startswith("/") and ":" not in p,
                    cel="self.startsWith('/') && !self.contains(':')",
                ),
            ),
        ),
    ),
)

ENV_FROM_SOURCE = Node(
    "object",
    description="EnvFromSource represents the source of a set of ConfigMaps or Secrets",
    properties=props(
        configMapRef=_env_ref("ConfigMap"),
        prefix=Node(
            "string",
            label="Prefix",
            description="Optional text to prepend to the name of each environment variable.\n"
            "May consist of any printable ASCII characters except '='.",
        ),
        secretRef=_env_ref("Secret"),
    ),
)

PREFIX_HASH = Node(
    "object",
    default={},
    properties=props(
        meanLoadFactor=Node(
            "integer",
            label="Mean load factor (%)",
            default=125,
            minimum=100,
            description="MeanLoadPercentage is the percentage that any given endpoint's load "
            "must not exceed\nover the mean load of all endpoints in the hash ring. Defaults to "
            "125% which is\na widely accepted value for the Consistent Hashing with Bounded "
            "Loads algorithm.",
        ),
        prefixCharLength=Node(
            "integer",
            label="Prefix length (characters)",
            default=100,
            description="PrefixCharLength is the number of characters to count when building "
            "the prefix to hash.",
        ),
        replication=Node(
            "integer",
            label="Replication",
            default=256,
            description="Replication is the number of replicas of each endpoint on the hash ring."
            "\nHigher values will result in a more even distribution of load but will\n"
            "decrease lookup performance.",
            rules=(
                Rule(
                    message="replication is immutable.",
                    check=_unchanged,
                    cel="self == oldSelf",
                    transition=True,
                    reason="Replication cannot change after the model is created.",
                ),
            ),
        ),
    ),
)

LOAD_BALANCING = Node(
    "object",
    section="load-balancing",
    default={},
    description="LoadBalancing configuration for the model.\n"
    "If not specified, a default is used based on the engine and request.",
    properties=props(
        strategy=Node(
            "string",
            label="Strategy",
            default="LeastLoad",
            enum=LOAD_BALANCING_STRATEGIES,
        ),
        prefixHash=PREFIX_HASH,
    ),
)

URL_DESCRIPTION = (
    "URL of the model to be served.\nCurrently the following formats are supported:\n\n"
    'For VLLM, FasterWhisper, Infinity engines:\n\n"hf://<repo>/<model>"\n"pvc://<pvcName>"\n'
    '"pvc://<pvcName>/<pvcSubpath>"\n"oci://<registry>/<repository>:<tag>"\n'
    '"gs://<bucket>/<path>" (only with cacheProfile)\n'
    '"oss://<bucket>/<path>" (only with cacheProfile)\n"s3://<bucket>/<path>" (only with '
    'cacheProfile)\n\nFor OLlama engine:\n\n"ollama://<model>"'
)

SPEC = Node(
    "object",
    description="ModelSpec defines the desired state of Model.",
    required=("engine", "features", "scaleDownDelaySeconds", "targetRequests", "url"),
    properties=props(
        url=Node(
            "string",
            label="URL",
            description=URL_DESCRIPTION,
            pattern=URL_PATTERN,
            rules=(
                Rule(
                    message='url must start with "oci://", "hf://", "pvc://", "ollama://", '
                    '"s3://", "gs://", or "oss://" and not be empty.',
                    check=_starts_with_any(URL_PREFIXES),
                    cel=_cel_starts_with_any(URL_PREFIXES),
                ),
                URL_LENGTH_RULE,
            ),
            section="basics",
        ),
        engine=Node(
            "string",
            label="Engine",
            description="Engine to be used for the server process.",
            enum=ENGINES,
            section="basics",
        ),
        features=Node(
            "array",
            label="Features",
            description="Features that the model supports.\n"
            "Dictates the APIs that are available for the model.",
            items=Node("string", enum=FEATURES),
            section="basics",
        ),
        owner=Node(
            "string",
            label="Owner",
            description="Owner of the model. Used solely to populate the owner field in the\n"
            "OpenAI /v1/models endpoint.\nDEPRECATED.",
            section="basics",
        ),
        resourceProfile=Node(
            "string",
            label="Resource profile",
            description='ResourceProfile required to serve the model.\nUse the format '
            '"<resource-profile-name>:<count>".\nExample: "nvidia-gpu-l4:2" - 2x NVIDIA L4 '
            "GPUs.\nMust be a valid ResourceProfile defined in the system config.",
            section="resources",
        ),
        cacheProfile=Node(
            "string",
            label="Cache profile",
            description="CacheProfile to be used for caching model artifacts.\n"
            "Must be a valid CacheProfile defined in the system config.",
            rules=(
                Rule(
                    message="cacheProfile is immutable.",
                    check=_unchanged,
                    cel="self == oldSelf",
                    transition=True,
                    reason="The cache profile cannot change after the model is created.",
                ),
            ),
            section="resources",
        ),
        image=Node(
            "string",
            label="Image",
            description="Image to be used for the server process.\n"
            "Will be set from ResourceProfile + Engine if not specified.",
            section="resources",
        ),
        priorityClassName=Node(
            "string",
            label="Priority class name",
            description="PriorityClassName sets the priority class for all pods created for "
            "this model.\nIf specified, the PriorityClass must exist before the model is created."
            "\nThis is useful for implementing priority and preemption for models.",
            section="resources",
        ),
        replicas=Node(
            "integer",
            label="Replicas",
            format="int32",
            description="Replicas is the number of Pod replicas that should be actively\n"
            "serving the model. KubeAI will manage this field unless AutoscalingDisabled\n"
            "is set to true.",
            section="scaling",
        ),
        minReplicas=Node(
            "integer",
            label="Min replicas",
            format="int32",
            minimum=0,
            description="MinReplicas is the minimum number of Pod replicas that the model can "
            "scale down to.\nNote: 0 is a valid value.",
            section="scaling",
        ),
        maxReplicas=Node(
            "integer",
            label="Max replicas",
            format="int32",
            minimum=1,
            description="MaxReplicas is the maximum number of Pod replicas that the model can "
            "scale up to.\nEmpty value means no limit.",
            section="scaling",
        ),
        autoscalingDisabled=Node(
            "boolean",
            label="Autoscaling disabled",
            description="AutoscalingDisabled will stop the controller from managing the "
            "replicas\nfor the Model. When disabled, metrics will not be collected on server Pods.",
            section="scaling",
        ),
        targetRequests=Node(
            "integer",
            label="Target requests",
            default=100,
            format="int32",
            minimum=1,
            description="TargetRequests is average number of active requests that the "
            "autoscaler\nwill try to maintain on model server Pods.",
            section="scaling",
        ),
        scaleDownDelaySeconds=Node(
            "integer",
            label="Scale-down delay (seconds)",
            default=30,
            format="int64",
            description="ScaleDownDelay is the minimum time before a deployment is scaled down "
            "after\nthe autoscaling algorithm determines that it should be scaled down.",
            section="scaling",
        ),
        loadBalancing=LOAD_BALANCING,
        args=Node(
            "array",
            label="Args",
            description="Args to be added to the server process.",
            items=Node("string"),
            section="server",
        ),
        env=Node(
            "object",
            label="Environment",
            description="Env variables to be added to the server process.",
            additional_properties=Node("string"),
            section="server",
        ),
        envFrom=Node(
            "array",
            label="Environment from",
            description="Env variables to be added to the server process from Secret or ConfigMap.",
            items=ENV_FROM_SOURCE,
            section="server",
        ),
        adapters=Node("array", label="Adapters", items=ADAPTER, section="adapters"),
        files=Node(
            "array",
            label="Files",
            description="Files to be mounted in the model Pods.",
            items=FILE,
            max_items=10,
            section="files",
        ),
    ),
    rules=(
        Rule(
            message='cacheProfile is only supported with urls of format "hf://...", '
            '"s3://...", "gs://...", or "oss://..." at the moment.',
            check=lambda s: "cacheProfile" not in s or _url(s).startswith(CACHEABLE_URL_PREFIXES),
            cel="!has(self.cacheProfile) || "
            + _cel_starts_with_any(CACHEABLE_URL_PREFIXES, "self.url"),
            field="cacheProfile",
        ),
        Rule(
            message='urls of format "gs://..." only supported when using a cacheProfile',
            check=lambda s: not _url(s).startswith("gs://") or "cacheProfile" in s,
            cel='!self.url.startsWith("gs://") || has(self.cacheProfile)',
            field="url",
        ),
        Rule(
            message='urls of format "oss://..." only supported when using a cacheProfile',
            check=lambda s: not _url(s).startswith("oss://") or "cacheProfile" in s,
            cel='!self.url.startsWith("oss://") || has(self.cacheProfile)',
            field="url",
        ),
        Rule(
            message="minReplicas should be less than or equal to maxReplicas.",
            check=_min_not_above_max,
            cel="!has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
            field="minReplicas",
        ),
        # The CEL rule above reads self.minReplicas whenever maxReplicas is set, so
        # the API server refuses a max without a min with an evaluation error.
        # Say so in words instead.
        Rule(
            message="Set minReplicas when maxReplicas is set (0 lets the model scale to zero).",
            check=lambda s: "maxReplicas" not in s or "minReplicas" in s,
            field="minReplicas",
        ),
        Rule(
            message="adapters only supported with VLLM engine.",
            check=lambda s: "adapters" not in s or s.get("engine") == "VLLM",
            cel='!has(self.adapters) || self.engine == "VLLM"',
            field="adapters",
        ),
        Rule(
            message="url is immutable when using cacheProfile.",
            check=lambda s, old: "cacheProfile" not in old or s.get("url") == old.get("url"),
            cel='!has(oldSelf.cacheProfile) || self.url == oldSelf.url',
            transition=True,
            field="url",
            reason="The URL cannot change while a cache profile is set.",
        ),
        Rule(
            message="All file paths must be unique.",
            check=_unique_file_paths,
            cel="!has(self.files) || self.files.size() <= 1 || !self.files.exists(f, "
            "self.files.filter(other, other.path == f.path).size() > 1)",
            field="files",
        ),
    ),
)

STATUS = Node(
    "object",
    description="ModelStatus defines the observed state of Model.",
    properties=props(
        cache=Node("object", required=("loaded",), properties=props(loaded=Node("boolean"))),
        replicas=Node(
            "object",
            required=("all", "ready"),
            properties=props(
                all=Node("integer", format="int32"),
                ready=Node("integer", format="int32"),
            ),
        ),
    ),
)

MODEL = Node(
    "object",
    description="Model resources define the ML models that will be served by KubeAI.",
    properties=props(
        apiVersion=Node(
            "string",
            description="APIVersion defines the versioned schema of this representation of an "
            "object.",
        ),
        kind=Node(
            "string",
            description="Kind is a string value representing the REST resource this object "
            "represents.",
        ),
        metadata=Node("object"),
        spec=SPEC,
        status=STATUS,
    ),
    rules=(
        Rule(
            message=f"name must not exceed {NAME_MAX_LENGTH} characters.",
            check=lambda m: len(str((m.get("metadata") or {}).get("name", ""))) <= NAME_MAX_LENGTH,
            cel=f"size(self.metadata.name) <= {NAME_MAX_LENGTH}",
            field="metadata.name",
        ),
    ),
)


@dataclass(frozen=True)
class Section:
    """A group of fields, shown together by the form and the detail page."""

    slug: str
    title: str
    description: str = ""


SECTIONS = (
    Section("basics", "Basics"),
    Section("resources", "Resources"),
    Section("scaling", "Scaling"),
    Section("load-balancing", "Load balancing"),
    Section("server", "Server"),
    Section("adapters", "Adapters"),
    Section("files", "Files"),
    Section("listing", "OpenRouter listing",
            "How this model appears on the public endpoint /public/api/models. Stored as "
            f"annotations under {ANNOTATION_PREFIX}."),
    Section("metadata", "Metadata"),
    Section("other", "Other fields (edit in YAML)",
            "Fields of the installed CRD that kmm does not know yet; shown as they are, and "
            "kept untouched by every save."),
)


def node_at(path: str, root: Node = SPEC) -> Node:
    """The schema node at a dotted path below `root`, e.g. "loadBalancing.prefixHash"."""
    node = root
    for part in path.split("."):
        node = node.child(part)
    return node


_CHANGED = object()  # a value no stored field holds


def _with_changed(spec: Mapping[str, Any], path: str) -> dict[str, Any]:
    out = dict(spec)
    *parents, leaf = path.split(".")
    cursor = out
    for part in parents:
        cursor[part] = dict(cursor.get(part) or {})
        cursor = cursor[part]
    cursor[leaf] = _CHANGED
    return out


def locked_fields(old_spec: Mapping[str, Any], spec: Node = SPEC) -> dict[str, str]:
    """Spec paths an edit of `old_spec` cannot change, each with the reason.

    Read from the transition rules: a field rule `self == oldSelf` locks its field;
    an object rule naming a `field` locks it when it would refuse a change to it
    from this old spec (url, while a cache profile is set).
    """
    locked: dict[str, str] = {}

    def walk(node: Node, prefix: str) -> None:
        for rule in node.rules:
            if not rule.transition:
                continue
            if rule.field is None and rule.check is _unchanged:
                locked[prefix.rstrip(".")] = rule.reason or rule.message
            elif rule.field is not None and not rule.check(
                    _with_changed(old_spec, prefix + rule.field), old_spec):
                locked[prefix + rule.field] = rule.reason or rule.message
        for name, child in node.properties.items():
            walk(child, f"{prefix}{name}.")

    walk(spec, "")
    return locked
