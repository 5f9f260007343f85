"""The routes: none shadows another, so their order only decides how fast a path resolves."""

import re
import uuid
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

SAMPLES = {"uuid": str(uuid.UUID(int=7)), "int": "7", "slug": "s-7", "str": "s7", "path": "p/7"}


def _routes(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _routes(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((route, namespace + entry.name))
    return found


def _sample(route: str) -> str:
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)


def test_every_named_route_resolves_to_itself() -> None:
    routes = _routes(get_resolver().url_patterns)
    assert len(routes) > 50
    for route, name in routes:
        if route.startswith("^") or "(?P" in route:
            continue  # a regular expression route (none of ours); nothing to sample
        match = get_resolver().resolve(_sample(route))
        assert match.view_name == name, f"{_sample(route)} ({name}) resolved to {match.view_name}"


def test_the_work_routes_are_tried_first() -> None:
    api = get_resolver().url_patterns[0]
    assert isinstance(api, URLResolver)
    assert str(api.pattern) == "api/v1/"
    first = [getattr(e, "name", None) for e in api.url_patterns[:6]]
    assert first[:1] == ["next"]
    assert "annotation_list" in first
