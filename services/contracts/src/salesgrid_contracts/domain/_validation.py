"""Input checks are the shared kernel's (salesgrid_common.validation)."""

from salesgrid_common.validation import require_aware, require_date, require_text

__all__ = ["require_aware", "require_date", "require_text"]
