"""Name search (Chinese and Latin) answered from an index of name grams, never a scan.

A customer's normalised name is indexed under every gram key `dedup.name_keys` makes (Chinese
bigrams, Latin/digit trigrams; the duplicate check looks up the same keys) and under its first
one and two characters. A query holding a
run of at least one whole gram matches names that CONTAIN it: every gram of such a run is a
gram of any name containing the run, so the index narrows the candidates and a substring test
confirms them. A shorter query (华, HP, 3M) has no whole gram; it matches names that START
with it, through the prefix keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .dedup import gram_key, name_keys, name_runs, normalise_name, run_grams
from .errors import ValidationFailed

MAX_QUERY_LENGTH = 100
MAX_QUERY_KEYS = 4  # every gram is a necessary condition; a few narrow enough, the substring test does the rest
PREFIX_LENGTHS = (1, 2)


class MatchMode(StrEnum):
    CONTAINS = "contains"
    PREFIX = "prefix"


@dataclass(frozen=True)
class NameQuery:
    text: str  # the normalised query
    mode: MatchMode
    keys: tuple[str, ...]  # index keys every matching name carries


def _prefix_key(prefix: str) -> str:
    return f"p:{prefix}"


def index_keys(normalised: str) -> set[str]:
    """The search keys stored for a customer's normalised name."""
    keys = name_keys(normalised)
    keys.update(_prefix_key(normalised[:n]) for n in PREFIX_LENGTHS if len(normalised) >= n)
    return keys


def parse_query(query: str) -> NameQuery:
    """The search a rep typed, normalised like names are."""
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationFailed(f"a name search is at most {MAX_QUERY_LENGTH} characters", "query")
    text = normalise_name(query)
    if not text:
        raise ValidationFailed("a name search needs letters, digits or Chinese characters", "query")
    # Whole grams only, once each, in reading order: neighbours overlap, spread ones narrow more.
    grams = list(dict.fromkeys(gram for run in name_runs(text) for gram in run_grams(run)))
    if not grams:
        return NameQuery(text, MatchMode.PREFIX, (_prefix_key(text[: PREFIX_LENGTHS[-1]]),))
    step = max(1, -(-len(grams) // MAX_QUERY_KEYS))
    return NameQuery(text, MatchMode.CONTAINS, tuple(gram_key(g) for g in grams[::step]))
