"""Routing a request's path to its rule without Werkzeug's matcher where the answer is certain.

Werkzeug's `MapAdapter.match` (the gateway's router since the Flask days) costs tens of
microseconds per request: its state machine tries a regular expression per dynamic segment and
builds its exceptions and redirects around that. Most of the gateway's paths are plain: literal
segments and `<name>` parameters (any non-empty segment). `SegmentRouter` walks a tree of those
segments and answers only when exactly one rule's pattern matches the whole path (whatever the
method) and that rule takes the request's method: then Werkzeug finds that same rule with the
same values (a single matching pattern leaves its static-before-dynamic order nothing to choose).
Everything else (no match, two patterns matching, a method the rule does not take, a path whose
form with a trailing slash is a rule, rules with typed or mixed segments on the way) is left to
Werkzeug, which also answers the 404s, 405s and redirects. tests/test_routing.py compares both over every rule."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.routing.converters import UnicodeConverter

_PARAMETER = re.compile(r"<(\w+)>")


class _Node:
    __slots__ = ("literals", "parameter", "rules", "unsure")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.parameter: _Node | None = None
        self.rules: dict[str, tuple[Rule, tuple[str, ...]]] = {}  # method -> rule, its parameters' names
        self.unsure = False  # a rule this tree cannot hold continues here: leave the path to Werkzeug


class SegmentRouter:
    """(rule, values) for the paths it is sure of; None for Werkzeug to decide."""

    def __init__(self, url_map: Map) -> None:
        self.root = _Node()
        for rule in url_map.iter_rules():
            self._add(rule)

    def _add(self, rule: Rule) -> None:
        node = self.root
        names: list[str] = []
        segments = rule.rule.split("/")
        if segments[0] != "":  # not an absolute path: never the case for the gateway's rules
            self.root.unsure = True
            return
        for segment in segments[1:]:
            parameter = _PARAMETER.fullmatch(segment)
            if "<" in segment and not _plain(rule, parameter):
                node.unsure = True  # a typed parameter or one inside a segment's text
                return
            if parameter:
                names.append(parameter.group(1))
                node.parameter = node.parameter or _Node()
                node = node.parameter
            else:
                node = node.literals.setdefault(segment, _Node())
        special = rule.defaults or rule.redirect_to is not None or rule.alias or rule.websocket
        if special or rule.methods is None or not rule.strict_slashes:
            node.unsure = True
            return
        for method in rule.methods:
            node.rules[method] = (rule, tuple(names))

    def match(self, path: str, method: str) -> tuple[Rule, dict[str, Any]] | None:
        if not path.startswith("/"):
            return None
        parts = path[1:].split("/")
        found: list[tuple[_Node, list[str]]] = []
        if not _walk(self.root, parts, 0, [], found) or len(found) != 1:
            return None
        node, values = found[0]
        entry = node.rules.get(method)
        if entry is None:
            return None
        rule, names = entry
        return rule, dict(zip(names, values, strict=True))


def _plain(rule: Rule, parameter: re.Match[str] | None) -> bool:
    """A whole segment that is one parameter with Werkzeug's default converter (any non-empty
    text without a slash, passed on as it is)."""
    if parameter is None:
        return False
    converter = rule._converters.get(parameter.group(1))
    return type(converter) is UnicodeConverter and converter.regex == "[^/]{1,}"


def _walk(node: _Node, parts: list[str], index: int, values: list[str], found: list[tuple[_Node, list[str]]]) -> bool:
    """Collects the nodes whose pattern matches `parts` (stopping at two); False when a node on
    the way holds something only Werkzeug can match."""
    if node.unsure:
        return False
    if index == len(parts):
        if "" in node.literals:
            return False  # the same path with a trailing slash is a rule: Werkzeug may redirect
        if node.rules:
            found.append((node, values))
        return True
    part = parts[index]
    child = node.literals.get(part)
    if child is not None and not _walk(child, parts, index + 1, values, found):
        return False
    if node.parameter is not None and part and len(found) < 2:
        return _walk(node.parameter, parts, index + 1, [*values, part], found)
    return True
