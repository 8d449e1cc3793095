"""Receipts (凭证): images or PDF, checked by their content, not only by what the client claims."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from salesgrid_common.errors import ValidationFailed

MAX_RECEIPT_BYTES = 5 * 1024 * 1024  # a phone photo or a scanned invoice; under the gRPC message limit
MAX_RECEIPTS_PER_LINE = 10
# Accepted media types and the signature their content starts with.
SIGNATURES = MappingProxyType(
    {
        "image/jpeg": b"\xff\xd8\xff",
        "image/png": b"\x89PNG\r\n\x1a\n",
        "application/pdf": b"%PDF-",
    }
)


@dataclass(frozen=True)
class Receipt:
    line_no: int
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    id: str = ""  # once attached
    created_at: datetime | None = None


def check_receipt(line_no: int, file_name: str, content_type: str, content: bytes) -> Receipt:
    """A receipt whose declared type is accepted and matches its content, within the size limit."""
    problems: list[tuple[str, str]] = []
    name = (file_name or "").strip()
    if not name or len(name) > 255 or any(c in name for c in '/\\"') or any(ord(c) < 32 for c in name):
        problems.append(
            ("file_name", "must be a file name of 1-255 characters without a path, quotes or control characters")
        )
    kind = (content_type or "").split(";")[0].strip().lower()
    signature = SIGNATURES.get(kind)
    if signature is None:
        problems.append(("content_type", f"must be one of {', '.join(SIGNATURES)}"))
    if not content:
        problems.append(("content", "is empty"))
    elif len(content) > MAX_RECEIPT_BYTES:
        problems.append(("content", f"must be at most {MAX_RECEIPT_BYTES} bytes"))
    elif signature is not None and not content.startswith(signature):
        problems.append(("content", f"is not a {kind} file"))
    if problems:
        raise ValidationFailed.many(problems)
    return Receipt(line_no, name, kind, len(content), hashlib.sha256(content).hexdigest())


def check_room(
    line_no: int, line_numbers: set[int], receipts_on_line: int, sha256: str, known_digests: set[str]
) -> None:
    """The line exists, has room for another receipt, and the same file is not attached twice."""
    if line_no not in line_numbers:
        raise ValidationFailed(f"the claim has no line {line_no}", "line_no")
    if receipts_on_line >= MAX_RECEIPTS_PER_LINE:
        raise ValidationFailed(f"at most {MAX_RECEIPTS_PER_LINE} receipts per line", "line_no")
    if sha256 in known_digests:
        raise ValidationFailed("this file is already attached to the claim", "content")
