"""ISO-4217 codes: the shared table in salesgrid_common.currencies (one copy for the platform)."""

from salesgrid_common.currencies import MINOR_UNITS, minor_units, validate_currency

__all__ = ["MINOR_UNITS", "minor_units", "validate_currency"]
