"""The OpenRouter listing: which Models are published, and how each becomes an entry.

The public endpoint (`/public/api/models`) lists models in OpenRouter's provider
format. What KubeAI's Model does not say (display name, prices, context
length, ...) comes from annotations that operators set, all under
`ANNOTATION_PREFIX`. `LISTING_FIELDS` describes each one declaratively (key,
label, help, kind, choices, `parse`), so the UI form, the REST API's
validation, the public endpoint and the README all read the same table.

Nothing else of a Model ever reaches an entry: entries are built from an
allow-list (name, creationTimestamp, url, features, adapters, autoscaling and
replica counts, and the annotations below), never from env, envFrom, args,
files, image, profiles or other labels and annotations.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from modelspec.errors import FieldError
from modelspec.objects import set_path

ANNOTATION_PREFIX = "openrouter.kmm.io/"
PUBLISH_ANNOTATION = ANNOTATION_PREFIX + "publish"

PUBLISH_MODES = ("annotation", "all", "namespaces")

QUANTIZATIONS = ("int4", "int8", "fp4", "fp6", "fp8", "fp16", "bf16", "fp32", "mxfp4", "nvfp4",
                 "mxfp8")
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k", "min_p", "top_a", "repetition_penalty",
                       "frequency_penalty", "presence_penalty", "stop", "seed", "max_tokens",
                       "logit_bias")
SUPPORTED_FEATURES = ("tools", "json_mode", "structured_outputs", "web_search", "reasoning",
                      "logprobs")

# KubeAI feature -> (input modality, output modality)
MODALITIES = {
    "TextGeneration": ("text", "text"),
    "TextEmbedding": ("text", "embeddings"),
    "Reranking": ("text", "rerank"),
    "SpeechToText": ("audio", "transcription"),
}

COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
HUGGING_FACE_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
MAX_TEXT = 200
MAX_DESCRIPTION = 4000
MAX_PRICE = Decimal(1000)


# --- parsers: raw annotation text -> value, or ValueError with a clear message ----------

def _text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if len(value) > limit:
            raise ValueError(f"Must have at most {limit} characters ({len(value)} given).")
        return value
    return parse


def _positive_int(raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError(f"Must be a whole number of tokens, like 8192 (not {raw!r}).")
    value = int(text)
    if not 1 <= value <= 2**31 - 1:
        raise ValueError("Must be between 1 and 2147483647.")
    return value


def _decimal(raw: str, what: str) -> Decimal:
    try:
        return Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"Must be {what} (not {raw!r}).") from None


def _price(raw: str) -> str:
    """A non-negative decimal in USD per token, kept as a plain decimal string."""
    value = _decimal(raw, "a decimal number of US dollars per token, like 0.0000005")
    if not value.is_finite() or value < 0:
        raise ValueError("Must be a finite number, zero or more.")
    if value > MAX_PRICE:
        raise ValueError(f"Must be at most {MAX_PRICE} dollars per token.")
    return format(value.normalize(), "f")


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if value not in choices:
            raise ValueError(f"Unsupported value {value!r}: supported values are "
                             + ", ".join(choices) + ".")
        return value
    return parse


def _multichoice(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(raw: str) -> list[str]:
        values = [v.strip() for v in raw.split(",") if v.strip()]
        unknown = [v for v in values if v not in choices]
        if unknown:
            raise ValueError(f"Unsupported value{'s' if len(unknown) > 1 else ''} "
                             + ", ".join(repr(v) for v in unknown) + ": supported values are "
                             + ", ".join(choices) + ".")
        if len(set(values)) != len(values):
            raise ValueError("Each value may appear only once.")
        return [c for c in choices if c in values]  # canonical order
    return parse


def _date(raw: str) -> str:
    """A day (YYYY-MM-DD, which OpenRouter reads as 13:00 UTC) or an hour
    (YYYY-MM-DDTHH:00:00Z); kept as written."""
    text = raw.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text).isoformat()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:00:00Z", text):
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).strftime(
                "%Y-%m-%dT%H:00:00Z")
    except ValueError:
        pass
    raise ValueError("Must be a date written YYYY-MM-DD, like 2026-12-31 (13:00 UTC that day), "
                     f"or an hour written YYYY-MM-DDTHH:00:00Z (not {raw!r}).")


def _discount(raw: str) -> float:
    """A fraction of the price given back to users: below 1; negative is a markup."""
    value = _decimal(raw, "a decimal number below 1, like 0.1 for 10 % off")
    if not value.is_finite() or value >= 1:
        raise ValueError("Must be a finite number below 1 (0.1 is 10 % off; -0.1 a 10 % markup).")
    return float(value)


def _hugging_face_repo(raw: str) -> str:
    value = raw.strip()
    if not HUGGING_FACE_REPO.fullmatch(value):
        raise ValueError("Must be a Hugging Face repository id like meta-llama/Llama-3.1-8B "
                         f"(organisation/name; not {raw!r}).")
    return value


OVERRIDE_PRICES = ("prompt", "completion", "image", "request", "input_cache_read")
MAX_OVERRIDES = 2


def _hhmm(value: Any, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3])[0-5]\d", value):
        raise ValueError(f"{where}: must be a time of day written HHMM in UTC, like 0930.")
    return value


def _overrides(raw: str) -> list[dict[str, Any]]:
    """OpenRouter's pricing.overrides: at most 2 conditional prices, either long-context
    (min_prompt_tokens) or time windows (utc_start, utc_end as HHMM), not both kinds."""
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Must be a JSON list of overrides ({exc.msg}).") from None
    if not isinstance(items, list) or not items:
        raise ValueError('Must be a JSON list of overrides, like [{"min_prompt_tokens": 200000, '
                         '"prompt": "0.000006"}].')
    if len(items) > MAX_OVERRIDES:
        raise ValueError(f"At most {MAX_OVERRIDES} overrides ({len(items)} given).")
    out: list[dict[str, Any]] = []
    kinds = set()
    for number, item in enumerate(items, start=1):
        where = f"Override {number}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: must be an object.")
        unknown = set(item) - {*OVERRIDE_PRICES, "min_prompt_tokens", "utc_start", "utc_end"}
        if unknown:
            raise ValueError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
                             + ", ".join(sorted(unknown)) + ".")
        entry: dict[str, Any] = {}
        if "min_prompt_tokens" in item:
            kinds.add("long-context")
            tokens = item["min_prompt_tokens"]
            if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
                raise ValueError(f"{where}: min_prompt_tokens must be a whole number ≥ 1.")
            entry["min_prompt_tokens"] = tokens
        if "utc_start" in item or "utc_end" in item:
            kinds.add("time window")
            if "utc_start" not in item or "utc_end" not in item:
                raise ValueError(f"{where}: a time window needs both utc_start and utc_end.")
            entry["utc_start"] = _hhmm(item["utc_start"], f"{where}, utc_start")
            entry["utc_end"] = _hhmm(item["utc_end"], f"{where}, utc_end")
        if not entry:
            raise ValueError(f"{where}: needs a condition, min_prompt_tokens or "
                             "utc_start/utc_end.")
        prices = [key for key in OVERRIDE_PRICES if key in item]
        if not prices:
            raise ValueError(f"{where}: needs at least one price ("
                             + ", ".join(OVERRIDE_PRICES) + ").")
        for key in prices:
            try:
                entry[key] = _price(str(item[key]))
            except ValueError as exc:
                raise ValueError(f"{where}, {key}: {exc}") from None
        out.append(entry)
    if len(kinds) > 1:
        raise ValueError("Long-context overrides (min_prompt_tokens) and time windows "
                         "(utc_start/utc_end) cannot be mixed.")
    return out


def _country_codes(raw: str) -> list[str]:
    codes = [c.strip() for c in raw.split(",") if c.strip()]
    bad = [c for c in codes if not COUNTRY_CODE.match(c)]
    if bad:
        raise ValueError("Must be ISO 3166-1 alpha-2 country codes in capitals, separated by "
                         "commas, like US,DE (not " + ", ".join(repr(c) for c in bad) + ").")
    if len(set(codes)) != len(codes):
        raise ValueError("Each country code may appear only once.")
    return codes


def _boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f'Must be "true" or "false" (not {raw!r}).')
    return text == "true"


def _slug(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9._\-]*(/[a-z0-9][a-z0-9._:\-]*)?", value) or len(value) > MAX_TEXT:
        raise ValueError("Must be an OpenRouter model slug like meta-llama/llama-3.1-8b-instruct "
                         "(lower case letters, digits, '.', '_', '-', one '/').")
    return value


def _serialize(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)) and any(isinstance(v, dict) for v in value):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


OMIT = object()  # a field left out of the entry when unset


# --- the table --------------------------------------------------------------------------

@dataclass(frozen=True)
class ListingField:
    """One operator-set listing annotation.

    `kind` tells a form which widget fits: text, textarea, int, decimal, choice,
    multichoice, date, countries, boolean, json. `parse(raw)` turns annotation text
    into the value (raising ValueError with a message fit for the operator);
    `serialize(value)` turns a value back into annotation text. The value lands in
    the OpenRouter entry at `entry_field` (dotted), as `to_entry(value)`; unset, the
    entry holds `default` there, or nothing when it is OMIT.
    """

    name: str  # the short name; also the form field name
    key: str  # the full annotation key
    label: str
    help_text: str
    kind: str
    parse: Callable[[str], Any]
    choices: tuple[str, ...] = ()
    entry_field: str = ""  # where the value lands in an OpenRouter entry (dotted)
    default: Any = OMIT
    to_entry: Callable[[Any], Any] = lambda value: value

    def serialize(self, value: Any) -> str:
        return _serialize(value)


def _field(name: str, label: str, help_text: str, kind: str, parse: Callable[[str], Any],
           choices: tuple[str, ...] = (), entry_field: str = "", default: Any = OMIT,
           to_entry: Callable[[Any], Any] = lambda value: value) -> ListingField:
    return ListingField(name=name, key=ANNOTATION_PREFIX + name.replace("_", "-"), label=label,
                        help_text=help_text, kind=kind, parse=parse, choices=choices,
                        entry_field=entry_field, default=default, to_entry=to_entry)


PUBLISH_FIELD = ListingField(
    name="publish", key=PUBLISH_ANNOTATION, label="Publish on /public/api/models",
    help_text='"true" lists this model on the public endpoint (the default publication mode '
              'lists only such models); "false" keeps it off in every mode.',
    kind="boolean", parse=_boolean)

LISTING_FIELDS: tuple[ListingField, ...] = (
    PUBLISH_FIELD,
    _field("display_name", "Display name",
           "The name shown to consumers (entry `name`). Default: the model's name.",
           "text", _text(MAX_TEXT), entry_field="name"),
    _field("description", "Description", "A short description for consumers.",
           "textarea", _text(MAX_DESCRIPTION), entry_field="description", default=""),
    _field("hugging_face_id", "Hugging Face id",
           "The Hugging Face repository the weights come from, e.g. meta-llama/Llama-3.1-8B, "
           "for a model served from a pvc:// or oci:// copy. Default: taken from an hf:// URL.",
           "text", _hugging_face_repo, entry_field="hugging_face_id"),
    _field("context_length", "Context length (tokens)",
           "The largest prompt plus completion, in tokens.", "int", _positive_int,
           entry_field="context_length", default=None),
    _field("max_output_length", "Max output (tokens)",
           "The largest completion, in tokens.", "int", _positive_int,
           entry_field="max_output_length", default=None),
    _field("quantization", "Quantization", "The weights' number format.", "choice",
           _choice(QUANTIZATIONS), QUANTIZATIONS, entry_field="quantization", default=None),
    _field("is_free", "Free", '"true": the model is free to use; OpenRouter then ignores its '
           "prices. Listed only when set.", "boolean", _boolean, entry_field="is_free"),
    _field("pricing_prompt", "Prompt price (USD per token)",
           "US dollars per input token, e.g. 0.0000005. Default: 0.", "decimal", _price,
           entry_field="pricing.prompt", default="0"),
    _field("pricing_completion", "Completion price (USD per token)",
           "US dollars per output token. Default: 0.", "decimal", _price,
           entry_field="pricing.completion", default="0"),
    _field("pricing_image", "Image price (USD per image)",
           "US dollars per input image; listed only when set.", "decimal", _price,
           entry_field="pricing.image"),
    _field("pricing_request", "Request price (USD per request)",
           "US dollars per request; listed only when set.", "decimal", _price,
           entry_field="pricing.request"),
    _field("pricing_input_cache_read", "Cached input price (USD per token)",
           "US dollars per input token read from the prompt cache; listed only when set.",
           "decimal", _price, entry_field="pricing.input_cache_read"),
    _field("pricing_overrides", "Conditional prices",
           "A JSON list of at most 2 overrides of the prices above: long-context prices "
           '(e.g. [{"min_prompt_tokens": 200000, "prompt": "0.000006"}]) or peak/off-peak '
           'windows ([{"utc_start": "0000", "utc_end": "0800", "prompt": "0.0000002"}], '
           "HHMM in UTC); the two kinds cannot be mixed. Listed only when set.", "json",
           _overrides, entry_field="pricing.overrides"),
    _field("discount_to_user", "Discount to users",
           "A fraction below 1 taken off the prices for users, e.g. 0.1 for 10 % off; a "
           "negative number is a markup. Listed only when set.", "decimal", _discount,
           entry_field="discount_to_user"),
    _field("capacity_tpm", "Capacity (input tokens per minute)",
           "How many input tokens per minute this deployment can take; listed only when set.",
           "int", _positive_int, entry_field="capacity_tpm"),
    _field("sampling_parameters", "Sampling parameters",
           "The sampling parameters the model accepts.", "multichoice",
           _multichoice(SAMPLING_PARAMETERS), SAMPLING_PARAMETERS,
           entry_field="supported_sampling_parameters", default=[]),
    _field("features", "Features", "The features the model supports.",
           "multichoice", _multichoice(SUPPORTED_FEATURES), SUPPORTED_FEATURES,
           entry_field="supported_features", default=[]),
    _field("deprecation_date", "Deprecation date",
           "When the model stops being served: a day (YYYY-MM-DD, read as 13:00 UTC) or an "
           "hour (YYYY-MM-DDTHH:00:00Z).", "date", _date, entry_field="deprecation_date",
           default=None),
    _field("slug", "OpenRouter slug",
           "The model's slug on OpenRouter, e.g. meta-llama/llama-3.1-8b-instruct; listed "
           "only when set.", "text", _slug, entry_field="openrouter.slug"),
    _field("datacenters", "Datacenter countries",
           "Comma-separated ISO 3166-1 alpha-2 codes of where the model runs, e.g. US,DE.",
           "countries", _country_codes, entry_field="datacenters", default=[],
           to_entry=lambda codes: [{"country_code": code} for code in codes]),
)

FIELDS_BY_KEY: Mapping[str, ListingField] = {f.key: f for f in LISTING_FIELDS}
FIELDS_BY_NAME: Mapping[str, ListingField] = {f.name: f for f in LISTING_FIELDS}


def annotation_path(key: str) -> str:
    """The field path of an annotation, as Kubernetes writes it."""
    return f"metadata.annotations[{key}]"


def parse_annotations(annotations: Mapping[str, Any] | None
                      ) -> tuple[dict[str, Any], list[FieldError]]:
    """The listing values set on a model (by field name), and a FieldError per bad value.

    Unknown keys under the prefix are errors too: they are most likely typos.
    """
    values: dict[str, Any] = {}
    problems: list[FieldError] = []
    for key, raw in (annotations or {}).items():
        if not key.startswith(ANNOTATION_PREFIX):
            continue
        spec = FIELDS_BY_KEY.get(key)
        if spec is None:
            problems.append(FieldError(annotation_path(key), "Unknown listing annotation; "
                                       "known ones are " + ", ".join(FIELDS_BY_KEY) + "."))
            continue
        if not isinstance(raw, str):
            problems.append(FieldError(annotation_path(key), "Must be a string."))
            continue
        try:
            values[spec.name] = spec.parse(raw)
        except ValueError as exc:
            problems.append(FieldError(annotation_path(key), str(exc)))
    return values, problems


def validate_listing(model: Mapping[str, Any]) -> list[FieldError]:
    """Problems in a model's listing annotations (the form and the REST API refuse them)."""
    return parse_annotations((model.get("metadata") or {}).get("annotations"))[1]


# --- publication ------------------------------------------------------------------------

def is_published(model: Mapping[str, Any], mode: str = "annotation",
                 namespaces: Iterable[str] = ()) -> bool:
    """Whether the publication mode lists this model.

    annotation: only models annotated publish="true" (the default, opt-in).
    all: every model except those annotated publish="false".
    namespaces: models in the allow-listed namespaces, except publish="false".
    """
    metadata = model.get("metadata") or {}
    flag = str((metadata.get("annotations") or {}).get(PUBLISH_ANNOTATION, "")).strip().lower()
    if mode == "annotation":
        return flag == "true"
    if flag == "false":
        return False
    if mode == "all":
        return True
    if mode == "namespaces":
        return metadata.get("namespace") in set(namespaces)
    raise ValueError(f"Unknown publication mode {mode!r}: one of {', '.join(PUBLISH_MODES)}.")


def is_ready(model: Mapping[str, Any]) -> bool:
    """Ready replicas > 0, or the model scales from zero on demand.

    KubeAI starts a model with minReplicas 0 (or unset) on its first request,
    unless autoscaling is disabled.
    """
    spec = model.get("spec") or {}
    ready = ((model.get("status") or {}).get("replicas") or {}).get("ready") or 0
    if isinstance(ready, int) and ready > 0:
        return True
    return not spec.get("autoscalingDisabled") and not spec.get("minReplicas")


def hugging_face_id(url: Any) -> str:
    """The repository of an hf:// URL; "" for every other scheme (pvc://, oci://, ...)."""
    if isinstance(url, str) and url.startswith("hf://"):
        return url[len("hf://"):]
    return ""


def created(model: Mapping[str, Any]) -> int:
    stamp = (model.get("metadata") or {}).get("creationTimestamp")
    if not isinstance(stamp, str):
        return 0
    try:
        return int(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def modalities(features: Sequence[Any]) -> tuple[list[str], list[str]]:
    inputs: list[str] = []
    outputs: list[str] = []
    for feature in features:
        pair = MODALITIES.get(feature) if isinstance(feature, str) else None
        if pair is None:
            continue
        if pair[0] not in inputs:
            inputs.append(pair[0])
        if pair[1] not in outputs:
            outputs.append(pair[1])
    return inputs, outputs


def listing_entry(model: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The model's OpenRouter entry, and a warning per invalid listing annotation.

    An invalid annotation is left out of the entry (its default applies); the
    UI's detail page shows the warnings. Where each annotation lands is its
    field's `entry_field` in LISTING_FIELDS.
    """
    metadata = model.get("metadata") or {}
    spec = model.get("spec") or {}
    values, problems = parse_annotations(metadata.get("annotations"))
    name = str(metadata.get("name") or "")
    features = spec.get("features")
    inputs, outputs = modalities(features if isinstance(features, list) else [])
    entry: dict[str, Any] = {
        "id": name,
        "hugging_face_id": hugging_face_id(spec.get("url")),
        "name": name,
        "created": created(model),
        "input_modalities": inputs,
        "output_modalities": outputs,
        "is_ready": is_ready(model),
    }
    for field in LISTING_FIELDS:
        if not field.entry_field:
            continue
        if field.name in values and values[field.name] not in ("", None):
            set_path(entry, field.entry_field, field.to_entry(values[field.name]))
        elif field.default is not OMIT:
            set_path(entry, field.entry_field, copy.deepcopy(field.default))
    return entry, problems


def listing_entries(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The model's entry, then one per adapter (`<model>_<adapter>`, as KubeAI serves them)."""
    entry, _ = listing_entry(model)
    entries = [entry]
    adapters = (model.get("spec") or {}).get("adapters")
    for adapter in adapters if isinstance(adapters, list) else []:
        if not isinstance(adapter, Mapping) or not adapter.get("name"):
            continue
        child = dict(entry)
        child["id"] = f"{entry['id']}_{adapter['name']}"
        child["name"] = f"{entry['name']} ({adapter['name']})"
        child["hugging_face_id"] = hugging_face_id(adapter.get("url"))
        child.pop("openrouter", None)  # a slug names the base model on OpenRouter
        entries.append(child)
    return entries
