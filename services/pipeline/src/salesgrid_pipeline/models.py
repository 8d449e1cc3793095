"""The pipeline service's own tables (nobody else reads them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import DeclarativeBase

from salesgrid_common.db import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}
