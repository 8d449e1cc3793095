"""salesgrid_common.memo: a value is computed once per key while its entry lives, an equal key
(content memo) or the same object (identity memo) finds it, and neither memo grows past its bound,
dropping the least recently used entry first."""

from __future__ import annotations

import pytest

from salesgrid_common.memo import ContentMemo, IdentityMemo


def counting(calls: list[object]):  # type: ignore[no-untyped-def]
    def compute(key: object) -> tuple[str, object]:
        calls.append(key)
        return ("value of", key)

    return compute


def test_a_content_memo_computes_once_per_equal_key() -> None:
    calls: list[object] = []
    memo = ContentMemo(counting(calls), 4)
    first = memo(("row", 1, "text"))
    again = memo(("row", 1, "text"))  # an equal, not the same, tuple
    assert first is again and calls == [("row", 1, "text")]
    assert memo(("row", 2, "text")) == ("value of", ("row", 2, "text"))
    assert len(calls) == 2


def test_a_content_memo_keeps_at_most_its_bound_and_drops_the_least_recently_used() -> None:
    calls: list[object] = []
    memo = ContentMemo(counting(calls), 3)
    for key in (1, 2, 3):
        memo(key)
    memo(1)  # used again: 2 is now the least recently used
    memo(4)
    assert len(memo) == 3
    calls.clear()
    memo(1), memo(3), memo(4)
    assert calls == []
    memo(2)  # dropped, so computed again
    assert calls == [2] and len(memo) == 3


def test_an_identity_memo_finds_the_same_object_only() -> None:
    calls: list[object] = []
    memo = IdentityMemo(counting(calls), 4)
    row = ["a", 1]  # unhashable, as a row holding decoded JSON is
    assert memo(row) is memo(row)
    equal = ["a", 1]
    memo(equal)
    assert calls == [row, equal] and calls[0] is row and calls[1] is equal


def test_an_identity_memo_keeps_its_objects_alive_and_at_most_its_bound() -> None:
    memo: IdentityMemo[object, int] = IdentityMemo(None, 2)
    first, second, third = object(), object(), object()
    memo.put(first, 1)
    memo.put(second, 2)
    assert memo.get(first) == 1  # first is now the most recently used
    memo.put(third, 3)
    assert (memo.get(first), memo.get(second), memo.get(third)) == (1, None, 3)
    assert len(memo) == 2
    remembered = [memo.put(object(), n) for n in range(5)]  # objects only the memo holds
    assert len(memo) == 2 and remembered == [0, 1, 2, 3, 4]
    # Were the memo not holding its objects, a new object could take a freed one's id and be found.
    assert all(memo.get(object()) is None for _ in range(100))
    with pytest.raises(TypeError, match="get and put"):
        memo(object())


@pytest.mark.parametrize("memo_type", [ContentMemo, IdentityMemo])
def test_a_memo_of_no_entries_keeps_nothing(memo_type) -> None:  # type: ignore[no-untyped-def]
    calls: list[object] = []
    memo = memo_type(counting(calls), 0)
    key = ("k",)
    memo(key), memo(key)
    assert calls == [key, key] and len(memo) == 0
    with pytest.raises(ValueError, match="negative"):
        memo_type(counting(calls), -1)
