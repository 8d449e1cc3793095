import pytest

from salesgrid_customers.domain.dedup import (
    MAX_CANDIDATE_KEYS,
    CandidateCustomer,
    DuplicateProbe,
    MatchReason,
    candidate_keys,
    classify_matches,
    core_name,
    name_keys,
    normalise_name,
    similarity,
)
from salesgrid_customers.domain.errors import Conflict, ValidationFailed

# (variant as typed by a rep, expected normalised name)
NORMALISATION_TABLE = [
    # legal suffixes
    ("华为技术有限公司", "华为技术"),
    ("华为技术有限责任公司", "华为技术"),
    ("华为技术股份有限公司", "华为技术"),
    ("华为技术公司", "华为技术"),
    ("华为技术", "华为技术"),
    ("华为技术集团有限公司", "华为技术"),
    ("华为技术集团", "华为技术"),
    ("华为技术总公司", "华为技术"),
    ("华为技术股份公司", "华为技术"),
    # bracketed place names, full and half width
    ("华为技术（深圳）有限公司", "华为技术"),
    ("华为技术(深圳)有限公司", "华为技术"),
    ("华为技术（深圳市）有限公司", "华为技术"),
    ("华为技术【深圳】有限公司", "华为技术"),
    ("华为技术 ( 深圳 ) 有限公司", "华为技术"),
    ("阿里巴巴（中国）网络技术有限公司", "阿里巴巴网络技术"),
    ("阿里巴巴(中国)网络技术有限公司", "阿里巴巴网络技术"),
    ("阿里巴巴（China）网络技术有限公司", "阿里巴巴网络技术"),
    ("星巴克企业管理（上海）有限公司", "星巴克企业管理"),
    ("星巴克企业管理(上海市)有限公司", "星巴克企业管理"),
    ("微软（中国）有限公司", "微软"),
    # whitespace, punctuation, full width
    ("  华为 技术 有限公司  ", "华为技术"),
    ("华为·技术有限公司", "华为技术"),
    ("华为—技术有限公司", "华为技术"),
    ("“华为”技术有限公司", "华为技术"),
    ("ＡＢＣ科技有限公司", "abc科技"),
    ("abc科技有限公司", "abc科技"),
    ("ABC 科技 有限公司", "abc科技"),
    ("１２３网络科技有限公司", "123网络科技"),
    # leading place names are kept (documented judgement call)
    ("北京字节跳动科技有限公司", "北京字节跳动科技"),
    ("深圳市腾讯计算机系统有限公司", "深圳市腾讯计算机系统"),
    ("上海浦东发展银行股份有限公司", "上海浦东发展银行"),
    # non-place brackets are kept as text
    ("某某（集团）投资有限公司", "某某集团投资"),
    # partnership forms
    ("红杉资本投资中心（有限合伙）", "红杉资本投资中心"),
    ("某某律师事务所(特殊普通合伙)", "某某律师事务所"),
    # English
    ("Acme Widgets Co., Ltd.", "acmewidgets"),
    ("ACME WIDGETS CO. LTD", "acmewidgets"),
    ("Acme Widgets Co.,Ltd", "acmewidgets"),
    ("Acme Widgets Company Limited", "acmewidgets"),
    ("Acme Widgets Limited", "acmewidgets"),
    ("Acme Widgets Ltd", "acmewidgets"),
    ("Acme Widgets Inc.", "acmewidgets"),
    ("Acme Widgets, Inc", "acmewidgets"),
    ("Acme Widgets Incorporated", "acmewidgets"),
    ("Acme Widgets LLC", "acmewidgets"),
    ("Acme Widgets L.L.C.", "acmewidgets"),
    ("Acme Widgets Corp.", "acmewidgets"),
    ("Acme Widgets Corporation", "acmewidgets"),
    ("Acme Widgets Group", "acmewidgets"),
    ("Acme-Widgets Ltd", "acmewidgets"),
    ("ＡＣＭＥ　Ｗｉｄｇｅｔｓ　Ｌｔｄ", "acmewidgets"),
    ("Acme Widgets (Shanghai) Co., Ltd.", "acmewidgets"),
    ("Acme Widgets (China) Co., Ltd.", "acmewidgets"),
    ("Acme Widgets (Hong Kong) Limited", "acmewidgets"),
    ("Acme Widgets Pte. Ltd.", "acmewidgets"),
    ("The Acme Widgets Company", "acmewidgets"),
    ("Johnson & Johnson", "johnsonandjohnson"),
    ("Johnson and Johnson", "johnsonandjohnson"),
    ("McDonald's Corporation", "mcdonalds"),
    ("McDonald’s Corp", "mcdonalds"),
    # a name that is only a suffix is not erased
    ("有限公司", "有限公司"),
    ("Limited", "limited"),
]


def test_table_is_big_enough() -> None:
    assert len(NORMALISATION_TABLE) >= 40


@pytest.mark.parametrize(("variant", "expected"), NORMALISATION_TABLE)
def test_normalise_name(variant: str, expected: str) -> None:
    assert normalise_name(variant) == expected


def test_normalisation_is_idempotent() -> None:
    for variant, expected in NORMALISATION_TABLE:
        assert normalise_name(expected) == expected, variant


def test_different_companies_stay_different() -> None:
    assert normalise_name("华为技术有限公司") != normalise_name("华为终端有限公司")
    assert normalise_name("北京华为技术有限公司") != normalise_name("华为技术有限公司")
    assert normalise_name("Acme Widgets Ltd") != normalise_name("Acme Gadgets Ltd")


def test_legal_suffix_in_the_middle_is_kept() -> None:
    assert normalise_name("阿里巴巴集团控股有限公司") == "阿里巴巴集团控股"


def test_core_name_strips_leading_place() -> None:
    assert core_name("深圳市腾讯计算机系统") == "腾讯计算机系统"
    assert core_name("上海浦东发展银行") == "浦东发展银行"
    assert core_name("华为技术") == "华为技术"


# ---------------------------------------------------------------- candidate keys


def test_candidate_keys_bounded() -> None:
    long_name = normalise_name("中华人民共和国" + "".join(chr(0x4E00 + i * 7) for i in range(190)))
    keys = candidate_keys(long_name)
    assert 0 < len(keys) <= MAX_CANDIDATE_KEYS


def test_candidate_keys_deterministic() -> None:
    assert candidate_keys("华为技术") == candidate_keys("华为技术")


def test_candidate_keys_chinese_bigrams_latin_trigrams() -> None:
    assert candidate_keys("华为技术") == {"s:华为", "s:为技", "s:技术"}
    assert candidate_keys("acme") == {"s:acm", "s:cme"}
    assert candidate_keys("a") == {"s:a"}


def test_stored_keys_cover_every_gram_and_the_core() -> None:
    assert name_keys("上海华为技术") == {"s:上海", "s:海华", "s:华为", "s:为技", "s:技术"}
    assert candidate_keys("上海华为技术") <= name_keys("上海华为技术")


@pytest.mark.parametrize(
    "name",
    [
        "黑龙江省哈尔滨电机厂有限公司",
        "内蒙古伊利实业集团股份有限公司",
        "北京",
        "中华",
        "HP Inc.",
        "3M中国",
        "上海市ab浦东x发展",
        "a",
    ],
)
def test_stored_keys_are_every_probe_key_the_name_can_have(name: str) -> None:
    """The stored keys (made uncached, once per stored name) are exactly what the probe's cached
    grams of the name and its core give, and the longest leading place is the one dropped."""
    normalised = normalise_name(name)
    assert candidate_keys(normalised) <= name_keys(normalised)
    assert len(candidate_keys(normalised)) == min(MAX_CANDIDATE_KEYS, len(name_keys(normalised)))
    assert core_name("黑龙江省哈尔滨电机厂") == "哈尔滨电机厂" and core_name("内蒙古伊利实业") == "伊利实业"


def test_similar_names_share_keys() -> None:
    pairs = [
        ("华为技术", "深圳华为技术服务"),
        ("北京字节跳动科技", "字节跳动科技"),
        ("acmewidgets", "acmewidget"),
    ]
    for a, b in pairs:
        assert candidate_keys(a) & name_keys(b) and candidate_keys(b) & name_keys(a), (a, b)


def test_long_similar_names_share_keys_despite_sampling() -> None:
    base = "".join(chr(0x4E00 + i * 13) for i in range(60))
    variant = base[:-2] + "科技"
    assert len(candidate_keys(variant) & name_keys(base)) >= MAX_CANDIDATE_KEYS - 3


# ---------------------------------------------------------------- similarity


def test_similarity_identity_and_range() -> None:
    assert similarity("华为技术", "华为技术") == 1.0
    assert similarity("", "华为技术") == 0.0
    assert 0.0 <= similarity("华为技术", "腾讯计算机系统") < 0.1


def test_similarity_symmetric() -> None:
    assert similarity("华为技术", "深圳华为技术服务") == similarity("深圳华为技术服务", "华为技术")


def test_unequal_names_never_score_one() -> None:
    assert similarity("acmewidgets", "acmewidgetss") < 1.0


def test_leading_place_name_variant_is_near_match() -> None:
    assert similarity(normalise_name("北京华为技术有限公司"), normalise_name("华为技术有限公司")) >= 0.8
    assert similarity("上海华为技术", "北京华为技术") >= 0.8


def test_short_core_does_not_match() -> None:
    # 北京大学 / 上海大学 share only the generic "大学"
    assert similarity("北京大学", "上海大学") < 0.5


def test_containment_is_near_match() -> None:
    assert similarity("中国银行", "中国银行深圳分行") >= 0.8


def test_typo_is_near_match() -> None:
    assert similarity("acmewidgets", "acmewigdets") > 0.5
    assert similarity("腾讯计算机系统", "腾迅计算机系统") >= 0.6


def test_different_companies_low_similarity() -> None:
    assert similarity("华为技术", "华为科技") < 0.5


# ---------------------------------------------------------------- classification


def cand(cid: str, name: str, owner: str | None = "rep-1", code: str | None = None) -> CandidateCustomer:
    return CandidateCustomer(cid, name, normalise_name(name), code, owner)


def test_exact_normalised_name_blocks_and_names_owner() -> None:
    report = classify_matches(
        DuplicateProbe(normalise_name("华为技术（深圳）有限公司")), [cand("c1", "华为技术有限公司", "rep-7")]
    )
    assert report.is_blocked
    assert report.blocking[0].reason is MatchReason.SAME_NORMALISED_NAME
    with pytest.raises(Conflict) as exc:
        report.raise_if_blocked()
    assert "rep-7" in exc.value.message and exc.value.field == "legal_name"


def test_same_credit_code_blocks_even_with_other_name() -> None:
    code = "914403001922038216"
    report = classify_matches(DuplicateProbe("完全不同", code), [cand("c1", "华为技术有限公司", code=code)])
    assert [m.reason for m in report.blocking] == [MatchReason.SAME_CREDIT_CODE]
    with pytest.raises(Conflict) as exc:
        report.raise_if_blocked()
    assert exc.value.field == "credit_code"


def test_pool_owner_reported() -> None:
    report = classify_matches(DuplicateProbe("华为技术"), [cand("c1", "华为技术", owner=None)])
    with pytest.raises(Conflict) as exc:
        report.raise_if_blocked()
    assert "public pool" in exc.value.message


def test_near_matches_are_warnings_sorted_by_score() -> None:
    report = classify_matches(
        DuplicateProbe(normalise_name("华为技术有限公司")),
        [
            cand("c1", "深圳华为技术服务有限公司"),
            cand("c2", "北京华为技术有限公司"),
            cand("c3", "腾讯计算机系统有限公司"),
        ],
    )
    assert not report.is_blocked
    report.raise_if_blocked()
    assert [m.customer_id for m in report.warnings] == ["c2", "c1"]
    assert all(m.reason is MatchReason.SIMILAR_NAME for m in report.warnings)
    assert report.warnings[0].score >= report.warnings[1].score


def test_threshold_controls_warnings() -> None:
    candidates = [cand("c1", "acme wigdets ltd")]
    probe = DuplicateProbe(normalise_name("Acme Widgets Ltd"))
    assert classify_matches(probe, candidates, threshold=0.99).warnings == ()
    assert len(classify_matches(probe, candidates, threshold=0.3).warnings) == 1


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_bad_threshold(threshold: float) -> None:
    with pytest.raises(ValidationFailed) as exc:
        classify_matches(DuplicateProbe("x"), [], threshold)
    assert exc.value.field == "threshold"


def test_update_does_not_match_itself_and_dedupes_candidates() -> None:
    report = classify_matches(
        DuplicateProbe("华为技术", customer_id="c1"),
        [cand("c1", "华为技术"), cand("c2", "华为技术"), cand("c2", "华为技术")],
    )
    assert [m.customer_id for m in report.blocking] == ["c2"]


def test_credit_code_block_listed_first() -> None:
    code = "914403001922038216"
    report = classify_matches(DuplicateProbe("华为技术", code), [cand("a", "华为技术"), cand("b", "别名", code=code)])
    assert [m.customer_id for m in report.blocking] == ["b", "a"]
