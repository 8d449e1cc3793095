"""Unified social credit code (统一社会信用代码), GB 32100-2015.

Layout: [1] registration authority, [2] entity type, [3-8] administrative division,
[9-17] organisation code (GB 11714: 8 body characters + its own check character),
[18] check character over positions 1-17.
"""

from __future__ import annotations

import unicodedata

from .errors import ValidationFailed

FIELD = "credit_code"
# GB 32100 alphabet: digits and capitals without I, O, S, V, Z; the index is the character's value.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
# Weight of position i (0-based) is 3^i mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# GB 11714 organisation-code weights for the 8 body characters.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_value(ch: str) -> int:
    # GB 11714 values: digits as themselves, A=10 ... Z=35 (full Latin alphabet).
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def compute_check_char(first17: str) -> str:
    """GB 32100 check character for the first 17 characters (must already be in ALPHABET)."""
    total = sum(_VALUES[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def compute_org_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation-code body."""
    total = sum(_org_value(ch) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def clean_credit_code(raw: str) -> str:
    """Full-width to half-width, drop spaces and hyphens, upper-case (pasted codes often carry them)."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in text if ch not in " -\t\u3000").upper()


def validate_credit_code(raw: str) -> str:
    """Return the canonical 18-character code or raise ValidationFailed(field='credit_code')."""
    code = clean_credit_code(raw)
    if len(code) != 18:
        raise ValidationFailed(f"credit code must have 18 characters, got {len(code)}", FIELD)
    bad = sorted({ch for ch in code if ch not in _VALUES})
    if bad:
        raise ValidationFailed(f"credit code contains characters outside GB 32100 alphabet: {''.join(bad)}", FIELD)
    if not code[2:8].isdigit():
        raise ValidationFailed("credit code positions 3-8 must be an administrative division code", FIELD)
    if compute_org_check_char(code[8:16]) != code[16]:
        raise ValidationFailed("credit code organisation-code check character (position 17) is wrong", FIELD)
    if compute_check_char(code[:17]) != code[17]:
        raise ValidationFailed("credit code check character (position 18) is wrong", FIELD)
    return code


def is_valid_credit_code(raw: str) -> bool:
    try:
        validate_credit_code(raw)
    except ValidationFailed:
        return False
    return True
