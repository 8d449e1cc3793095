"""cf_<key> columns of customer imports (pure domain): accepted in the header, carried by the row,
and row errors on a custom field name its column."""

from __future__ import annotations

import pytest

from salesgrid_customers.domain import imports
from salesgrid_customers.domain.errors import ValidationFailed


def test_header_accepts_custom_field_columns_only_by_key_syntax() -> None:
    assert imports.check_header(["legal_name", "CF_Region", "cf_lines"]) == ("legal_name", "cf_region", "cf_lines")
    assert imports.custom_keys(("legal_name", "cf_region", "tier")) == ["region"]
    with pytest.raises(ValidationFailed) as bad:
        imports.check_header(["legal_name", "cf_", "cf_9x", "colour"])
    assert "cf_, cf_9x, colour" in bad.value.message


def test_rows_carry_non_empty_custom_cells_and_errors_name_the_column() -> None:
    row = imports.parse_row({"legal_name": "Acme", "cf_region": "north", "cf_lines": ""})
    assert dict(row.custom_fields) == {"region": "north"}
    assert imports.column_of("custom_fields.budget.amount") == "cf_budget"
    assert imports.column_of("custom_fields.region") == "cf_region"
    assert imports.column_of("tier") == "tier"
