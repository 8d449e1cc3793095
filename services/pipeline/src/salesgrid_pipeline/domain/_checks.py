"""The comparison key of names the pipeline keeps unique (opportunities per customer, leads'
companies, competitors); input checks are the shared kernel's (salesgrid_common.validation)."""

from __future__ import annotations

import unicodedata


def normalise_key(text: str) -> str:
    """Comparison key: full/half width folded (NFKC), case folded, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
