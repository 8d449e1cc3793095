"""db.loaded_values: a row's column values from its instance state, loading what is not loaded."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import loaded_values


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


def test_a_fully_loaded_row_is_read_from_its_state() -> None:
    row = Thing(id="t-1", name="widget")
    assert {k: v for k, v in loaded_values(row).items() if not k.startswith("_")} == {"id": "t-1", "name": "widget"}


def test_an_attribute_not_loaded_is_read_through_the_orm() -> None:
    row = Thing(id="t-1")  # `name` never set: not in the instance state
    assert dict(loaded_values(row)) == {"id": "t-1", "name": None}
