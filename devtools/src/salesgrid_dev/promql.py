"""The series a PromQL expression reads: its vector selectors (metric name and label matchers) and
the labels it groups or matches on, found by a small tokenizer (enough for alert rules and
dashboard panels; Prometheus 2.42 has no parse endpoint). Used to check mechanically that every
metric the chart's rules and dashboard query exists on a running platform."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:ms|s|m|h|d|w|y)?(?:\d+(?:ms|s|m|h|d|w|y))*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@:])
  | (?P<var>\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?)
""",
    re.VERBOSE,
)

AGGREGATIONS = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    }
)
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"})


@dataclass(frozen=True)
class Selector:
    name: str | None  # None: a selector by labels only, e.g. {__name__=~"..."}
    matchers: tuple[tuple[str, str, str], ...] = ()  # (label, op, value)

    def promql(self, substitutions: dict[str, str] | None = None) -> str:
        """The selector as PromQL, with `$variables` in values replaced (Grafana's)."""

        def value(text: str) -> str:
            for key, replacement in (substitutions or {}).items():
                text = text.replace(f"${{{key}}}", replacement).replace(f"${key}", replacement)
            return text.replace("\\", "\\\\").replace('"', '\\"')

        inner = ", ".join(f'{label}{op}"{value(v)}"' for label, op, v in self.matchers)
        return f"{self.name or ''}{{{inner}}}"


@dataclass
class Parsed:
    selectors: list[Selector] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)  # labels of by/without/on/ignoring/group_*

    @property
    def metric_names(self) -> set[str]:
        return {s.name for s in self.selectors if s.name}


def _tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(expr):
        found = _TOKEN.match(expr, position)
        if found is None:
            raise ValueError(f"cannot read PromQL at {expr[position : position + 20]!r} in {expr!r}")
        position = found.end()
        kind = found.lastgroup or ""
        if kind != "ws":
            out.append((kind, found.group()))
    return out


def _unquote(text: str) -> str:
    body = text[1:-1]
    return body if text[0] == "`" else re.sub(r"\\(.)", r"\1", body)


def parse(expr: str) -> Parsed:
    tokens = _tokens(expr)
    parsed = Parsed()
    i = 0

    def matchers(start: int) -> tuple[tuple[tuple[str, str, str], ...], int]:
        found: list[tuple[str, str, str]] = []
        j = start + 1  # after "{"
        while tokens[j][1] != "}":
            if tokens[j][1] == ",":
                j += 1
                continue
            label, op, value = tokens[j][1], tokens[j + 1][1], tokens[j + 2]
            if value[0] != "string":
                raise ValueError(f"label matcher {label}{op} without a string in {expr!r}")
            found.append((label, op, _unquote(value[1])))
            j += 3
        return tuple(found), j + 1

    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text == "[":  # a range or subquery duration: skip to its end
            while tokens[i][1] != "]":
                i += 1
            i += 1
        elif kind == "ident" and text in GROUPING:
            i += 1
            if i < len(tokens) and tokens[i][1] == "(":
                i += 1
                while tokens[i][1] != ")":
                    if tokens[i][0] == "ident":
                        parsed.grouping.add(tokens[i][1])
                    i += 1
                i += 1
        elif kind == "ident" and (text in AGGREGATIONS or text in KEYWORDS or following == "("):
            i += 1  # a function, an aggregation or an operator keyword
        elif kind == "ident":
            if following == "{":
                found, i = matchers(i + 1)
            else:
                found, i = (), i + 1
            parsed.selectors.append(Selector(text, found))
        elif text == "{":
            found, i = matchers(i)
            name = next((v for label, op, v in found if label == "__name__" and op == "="), None)
            parsed.selectors.append(Selector(name, tuple(m for m in found if not (m[0] == "__name__" and m[1] == "="))))
        else:
            i += 1
    return parsed
