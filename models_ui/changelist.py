"""The change list's state (search, filters, sort, page), read from and written to the URL.

Like django.contrib.admin's ChangeList: every link is rebuilt by `url()` from the
current query string, so filters survive sorting and paging, and any view can be
shared or bookmarked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import QueryDict

from models_ui.presenters import STATES, ModelRow
from modelspec.schema import ENGINES, FEATURES

PER_PAGE = 50

@dataclass(frozen=True)
class ColumnSpec:
    """One column of the change list: its title, how it sorts (None: it does not), and
    the cell the template renders for it (includes/cell.html, by key)."""

    key: str
    title: str
    sort: Callable[[ModelRow], Any] | None = None


# The columns in display order; the template loops over them for headers and cells
# (includes/cell.html). State sits next to Name, so it is in view at 1024 px.
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("name", "Name", lambda r: (r.name, r.namespace)),
    ColumnSpec("state", "State"),
    ColumnSpec("engine", "Engine", lambda r: (r.engine, r.name)),
    ColumnSpec("profile", "Resource profile", lambda r: (r.resource_profile, r.name)),
    ColumnSpec("replicas", "Replicas", lambda r: (r.ready_replicas, r.all_replicas, r.name)),
    ColumnSpec("published", "Published", lambda r: (not r.published, r.name)),
    ColumnSpec("age", "Age", lambda r: (r.created_sort_key, r.name)),
)
# Sorts without a column of their own: namespace and URL show under each name (their sort
# links sit in the Name header), features under the engine, the cache under the state.
FOLDED_SORTS: tuple[ColumnSpec, ...] = (
    ColumnSpec("namespace", "namespace", lambda r: (r.namespace, r.name)),
    ColumnSpec("url", "URL", lambda r: (r.url, r.name)),
    ColumnSpec("cache", "cache", lambda r: (r.cache_loaded is True, r.name)),
)
SORTS: dict[str, tuple[str, Callable[[ModelRow], Any]]] = {
    c.key: (c.title, c.sort) for c in (*COLUMNS, *FOLDED_SORTS) if c.sort is not None}

FILTERS: dict[str, tuple[str, Callable[[ModelRow, str], bool]]] = {
    "engine": ("Engine", lambda r, v: r.engine == v),
    "feature": ("Feature", lambda r, v: v in r.features),
    "profile": ("Resource profile", lambda r, v: r.profile_name == v),
    "state": ("State", lambda r, v: r.state == v),
    "published": ("Published", lambda r, v: r.published == (v == "yes")),
}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool
    url: str


@dataclass(frozen=True)
class Facet:
    param: str
    title: str
    choices: list[Choice]


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    sorted: str  # "", "asc" or "desc"
    url: str  # "" when the column does not sort


class ChangeList:
    def __init__(self, params: QueryDict, rows: Iterable[ModelRow], path: str = ""):
        self.params = params
        self.path = path
        self.query = params.get("q", "").strip()
        self.namespace = params.get("namespace", "")
        self.filters = {name: params.get(name, "") for name in FILTERS if params.get(name)}
        order = params.get("o", "name")
        self.order = order if order.lstrip("-") in SORTS else "name"
        all_rows = list(rows)
        self.profiles = sorted({r.profile_name for r in all_rows if r.profile_name})
        self.total_count = len(all_rows)
        matched = [r for r in all_rows if self._matches(r)]
        key = SORTS[self.order.lstrip("-")][1]
        matched.sort(key=key, reverse=self.order.startswith("-"))
        self.result_count = len(matched)
        self.paginator = Paginator(matched, PER_PAGE)
        self.page: Page[ModelRow] = self.paginator.get_page(params.get("p"))

    def _matches(self, row: ModelRow) -> bool:
        if self.query:
            needle = self.query.lower()
            if needle not in row.name.lower() and needle not in row.url.lower():
                return False
        return all(FILTERS[name][1](row, value) for name, value in self.filters.items())

    @property
    def rows(self) -> list[ModelRow]:
        return list(self.page.object_list)

    @property
    def is_filtered(self) -> bool:
        return bool(self.query or self.filters)

    def url(self, **changes: str | None) -> str:
        """This view's URL with some parameters changed (None removes one)."""
        params = self.params.copy()
        if any(name != "p" for name in changes):
            params.pop("p", None)  # a new filter or order starts at page one
        for name, value in changes.items():
            if value is None or value == "":
                params.pop(name, None)
            else:
                params[name] = value
        encoded = params.urlencode()
        return f"{self.path}?{encoded}" if encoded else self.path or "?"

    @property
    def folded_sorts(self) -> dict[str, Column]:
        """Sort links of the folded sorts (namespace, URL, cache) by key."""
        return {spec.key: self._column(spec) for spec in FOLDED_SORTS}

    @property
    def columns(self) -> list[Column]:
        return [self._column(spec) for spec in COLUMNS]

    def _column(self, spec: ColumnSpec) -> Column:
        if spec.sort is None:
            return Column(spec.key, spec.title, "", "")
        current, descending = self.order.lstrip("-"), self.order.startswith("-")
        if spec.key == current:
            state = "desc" if descending else "asc"
            target = spec.key if descending else f"-{spec.key}"
        else:
            state, target = "", spec.key
        return Column(spec.key, spec.title, state, self.url(o=target))

    @property
    def facets(self) -> list[Facet]:
        options = {
            "engine": [(e, e) for e in ENGINES],
            "feature": [(f, f) for f in FEATURES],
            "profile": [(p, p) for p in self.profiles],
            "state": list(STATES.items()),
            "published": [("yes", "Published"), ("no", "Not published")],
        }
        facets = []
        for param, (title, _) in FILTERS.items():
            current = self.filters.get(param, "")
            choices = [Choice("", "All", not current, self.url(**{param: None}))]
            choices += [Choice(value, label, current == value, self.url(**{param: value}))
                        for value, label in options[param]]
            facets.append(Facet(param, title, choices))
        return facets

    @property
    def previous_url(self) -> str:
        return self.url(p=str(self.page.previous_page_number())) if self.page.has_previous() else ""

    @property
    def next_url(self) -> str:
        return self.url(p=str(self.page.next_page_number())) if self.page.has_next() else ""

    @property
    def clear_url(self) -> str:
        """Everything shown again: the namespace stays, search and filters go."""
        return self.url(q=None, **{name: None for name in FILTERS})
