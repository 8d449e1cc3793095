"""Customer names for the duplicate check (查重): normalisation, index keys and similarity.

Normalisation decisions:
- NFKC folds full-width to half-width (（北京） -> (北京), ＡＢＣ -> ABC); then case folding.
- Bracketed segments are dropped when they hold a place name (上海, 上海市, Shanghai, China)
  or a partnership form (有限合伙); other bracketed text is kept, brackets removed.
- Legal-form suffixes (有限公司, 股份有限公司, 集团, Co., Ltd., Inc., LLC, ...) are stripped
  repeatedly from the end, never down to an empty name.
- A LEADING province/city name (北京华为 / 华为) is KEPT in the normalised name: branches in
  different cities are distinct legal persons, and blocking them would stop reps from creating
  legitimate customers. Instead `similarity` also compares the names with that leading place
  removed, so such pairs still surface as warnings.
- All punctuation, symbols and whitespace are removed; '&' reads as 'and'.
Not handled: traditional vs simplified Chinese, pinyin vs characters, English vs Chinese names.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

MAX_CANDIDATE_KEYS = 16
CONTAINMENT_WEIGHT = 0.85  # one name contained in the other: suspicious, not identical
CORE_WEIGHT = 0.9  # equal apart from a leading place name
MIN_GRAMS_FOR_CONTAINMENT = 3
MIN_CORE_LENGTH = 3  # 北京大学 vs 上海大学 must not match on "大学"

_PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 "
    "广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
_CITIES = (
    "深圳 广州 杭州 南京 苏州 无锡 宁波 温州 武汉 成都 西安 厦门 青岛 大连 沈阳 长沙 郑州 济南 "
    "合肥 福州 昆明 南宁 哈尔滨 长春 石家庄 太原 南昌 贵阳 兰州 海口 珠海 东莞 佛山 常州 烟台"
).split()
_CJK_PLACES = frozenset(_PROVINCES + _CITIES + ["中国", "中华"])
_CJK_PLACES_LONGEST_FIRST = tuple(sorted(_CJK_PLACES, key=len, reverse=True))  # 黑龙江 before a shorter prefix
_LATIN_PLACES = frozenset(
    "china prc beijing shanghai tianjin chongqing shenzhen guangzhou hangzhou nanjing suzhou "
    "wuhan chengdu xian xiamen qingdao dalian ningbo hongkong macau macao taiwan asia".split()
)
_PLACE_SUFFIXES = ("特别行政区", "自治区", "省", "市", "区")
_PARTNERSHIP_FORMS = frozenset({"有限合伙", "普通合伙", "特殊普通合伙", "lp", "llp"})
# Longest first so 股份有限公司 is removed whole, not as 公司 leaving 股份有限.
_CJK_LEGAL_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "合伙企业",
    "有限合伙",
    "普通合伙",
    "总公司",
    "集团",
    "公司",
)
_LATIN_LEGAL_SUFFIXES = frozenset(
    "co company ltd limited inc incorporated llc corp corporation group plc gmbh ag sa pte pty llp lp bv nv srl".split()
)
_BRACKETS = re.compile(r"[(\[{【〔「《<]([^)\]}】〕」》>]*)[)\]}】〕」》>]")
_DOTTED_ACRONYM = re.compile(r"\b(?:[a-z]\.){2,}")


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _place_key(text: str) -> str:
    key = "".join(text.split())
    for suffix in _PLACE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            return key[: -len(suffix)]
    return key


def _is_place(text: str) -> bool:
    key = _place_key(text)
    return key in _CJK_PLACES or key in _LATIN_PLACES


def _drop_bracket(match: re.Match[str]) -> str:
    inner = match.group(1)
    key = "".join(inner.split())
    if _is_place(inner) or key in _PARTNERSHIP_FORMS:
        return " "
    return f" {inner} "


def _strip_legal_suffixes(tokens: list[str]) -> list[str]:
    changed = True
    while changed and tokens:
        changed = False
        last = tokens[-1]
        if last in _LATIN_LEGAL_SUFFIXES and len(tokens) > 1:
            tokens = tokens[:-1]
            changed = True
            continue
        for suffix in _CJK_LEGAL_SUFFIXES:
            if last.endswith(suffix):
                rest = last[: -len(suffix)]
                if rest:
                    tokens = tokens[:-1] + [rest]
                elif len(tokens) > 1:
                    tokens = tokens[:-1]
                else:
                    break  # the whole name is a suffix: keep it
                changed = True
                break
    return tokens


def normalise_name(name: str) -> str:
    """Key for exact duplicate detection: equal output means 'the same company'."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _DOTTED_ACRONYM.sub(lambda m: m.group().replace(".", ""), text)
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    # Brackets may nest poorly in user input; two passes cover "(a (b))"-style leftovers.
    for _ in range(2):
        text = _BRACKETS.sub(_drop_bracket, text)
    text = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    tokens = text.split()
    if tokens and tokens[0] == "the" and len(tokens) > 1:
        tokens = tokens[1:]
    return "".join(_strip_legal_suffixes(tokens))


_PLACE_LENGTHS = tuple(sorted({len(place) for place in _CJK_PLACES}, reverse=True))  # longest first


def _core_name(normalised: str) -> str:
    """The normalised name without a leading province/city (上海浦东发展银行 -> 浦东发展银行)."""
    for length in _PLACE_LENGTHS:  # the longest place the name starts with (黑龙江 before a shorter one)
        if normalised[:length] in _CJK_PLACES:
            rest = normalised[length:]
            for suffix in _PLACE_SUFFIXES:
                if rest.startswith(suffix):
                    rest = rest[len(suffix) :]
                    break
            return rest
    return normalised


core_name = lru_cache(maxsize=4096)(_core_name)  # the probe's name is compared with every candidate


_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\u3400-\u9fff\uf900-\ufaff]+")


def name_runs(normalised: str) -> list[str]:
    """Maximal runs of Chinese characters and of everything else (Latin letters, digits)."""
    return _RUNS.findall(normalised)


def run_grams(run: str) -> list[str]:
    """The grams of one run in reading order; none for a run shorter than a gram."""
    size = 2 if _is_cjk(run[0]) else 3
    return [run[i : i + size] for i in range(len(run) - size + 1)]


def _grams(normalised: str) -> frozenset[str]:
    """Bigrams over runs of Chinese characters, trigrams over runs of Latin letters/digits.

    Chinese words are mostly two characters, so bigrams carry meaning; Latin bigrams are too
    common ('in', 'er') to be selective in an index, trigrams are not.
    """
    grams: set[str] = set()
    for run in _RUNS.findall(normalised):
        size = 2 if _is_cjk(run[0]) else 3
        if len(run) < size:
            grams.add(run)  # a run shorter than a gram (the 'hp' of HP Inc.) is a gram of its own
        else:
            grams.update([run[i : i + size] for i in range(len(run) - size + 1)])
    return frozenset(grams)


# Cached: the probe's name is compared with every candidate (a stored name's keys are made once:
# name_keys does not go through the caches).
name_grams = lru_cache(maxsize=4096)(_grams)


def _stable_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


GRAM_KEY_PREFIX = "s:"


def gram_key(gram: str) -> str:
    """The index key of a name gram; the name search looks grams up under the same keys."""
    return GRAM_KEY_PREFIX + gram


def name_keys(normalised: str) -> set[str]:
    """Every gram key of a name and of its core (the name without a leading place): what is
    stored per customer, so any probe sharing a gram with it finds it. Made once per stored name
    (an import makes thousands): no cache is filled with them."""
    grams = _grams(normalised)
    core = _core_name(normalised)
    if core != normalised:
        grams |= _grams(core)
    return {GRAM_KEY_PREFIX + gram for gram in grams}  # gram_key


def candidate_keys(normalised: str) -> set[str]:
    """At most MAX_CANDIDATE_KEYS of the probe's gram keys to look up among stored name_keys
    (a bottom-k MinHash sample): rows sharing the most of them are the candidates, ORDER BY
    count DESC LIMIT a few dozen, classified by classify_matches. Keeping the k grams with the
    smallest stable hash bounds the lookups for long names while similar names keep mostly the
    same sample."""
    return {gram_key(g) for g in sorted(_name_and_core_grams(normalised), key=_stable_hash)[:MAX_CANDIDATE_KEYS]}


def _name_and_core_grams(normalised: str) -> frozenset[str]:
    return name_grams(normalised) | name_grams(core_name(normalised))


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two NORMALISED names; 1.0 only for equal names.

    The best of: Dice over grams; containment (one name inside the other, weighted 0.85);
    Dice of the names without a leading place name (weighted 0.9).
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ga, gb = name_grams(a), name_grams(b)
    score = _dice(ga, gb)
    smaller = min(len(ga), len(gb))
    if smaller >= MIN_GRAMS_FOR_CONTAINMENT:
        score = max(score, CONTAINMENT_WEIGHT * len(ga & gb) / smaller)
    ca, cb = core_name(a), core_name(b)
    if (ca != a or cb != b) and min(len(ca), len(cb)) >= MIN_CORE_LENGTH:
        score = max(score, CORE_WEIGHT * _dice(name_grams(ca), name_grams(cb)))
    return min(score, 0.999)  # unequal names never reach the exact-match score
