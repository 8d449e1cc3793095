"""Input checks are the shared kernel's (salesgrid_common.validation)."""

from salesgrid_common.validation import MAX_ID_LENGTH, Violations, require_instant

__all__ = ["MAX_ID_LENGTH", "Violations", "require_instant"]
