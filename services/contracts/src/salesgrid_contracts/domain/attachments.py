"""Attachment references and the company's standard contract template.

A contract refers to documents kept elsewhere (the document store): it records which document,
under what name and type, how big and its SHA-256, so a signed version can be checked against the
file later. Attachments change freely while the contract is a draft; after that only an amendment
(approved like any other) changes them, so what was approved is what is attached.
"""

from __future__ import annotations

from datetime import datetime

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ._validation import require_text
from .errors import AlreadyExists, FailedPrecondition, NotFound, ValidationFailed

MAX_ATTACHMENTS = 50
MAX_SIZE_BYTES = 100 * 1024 * 1024  # the document store's own upload limit
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


@dataclass(frozen=True)
class Attachment:
    document_id: str
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str


def new_attachment(
    document_id: str, file_name: str, content_type: str, size_bytes: int, sha256: str, field: str = "attachment"
) -> Attachment:
    """A validated reference; every bad field is named at once."""
    problems: list[tuple[str, str]] = []

    def check(name: str, value: str, max_length: int) -> str:
        try:
            return require_text(value, f"{field}.{name}", max_length=max_length)
        except ValidationFailed as exc:
            problems.append((exc.field or name, exc.message))
            return ""

    doc, name = check("document_id", document_id, 64), check("file_name", file_name, 255)
    kind, digest = (content_type or "").strip().lower(), (sha256 or "").strip().lower()
    if not _CONTENT_TYPE.match(kind):
        problems.append((f"{field}.content_type", "must be a media type such as application/pdf"))
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or not 0 < size_bytes <= MAX_SIZE_BYTES:
        problems.append((f"{field}.size_bytes", f"must be between 1 and {MAX_SIZE_BYTES} bytes"))
    if not _SHA256.match(digest):
        problems.append((f"{field}.sha256", "must be 64 hexadecimal digits"))
    if problems:
        raise ValidationFailed.many(problems)
    return Attachment(doc, name, kind, size_bytes, digest)


def check_attachments(attachments: Sequence[Attachment], field: str = "attachments") -> None:
    """A set of references a contract may hold: each document once, not too many."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationFailed(f"at most {MAX_ATTACHMENTS} attachments", field)
    seen: set[str] = set()
    for index, item in enumerate(attachments):
        if item.document_id in seen:
            raise ValidationFailed(f"document {item.document_id} is attached twice", f"{field}[{index}].document_id")
        seen.add(item.document_id)


def _require_draft(status: str) -> None:
    if status != "draft":
        raise FailedPrecondition(f"the contract is {status}: change its attachments through an amendment", "status")


def add_attachment(status: str, current: Sequence[Attachment], item: Attachment) -> tuple[Attachment, ...]:
    _require_draft(status)
    if any(a.document_id == item.document_id for a in current):
        raise AlreadyExists(f"document {item.document_id} is already attached", "attachment.document_id")
    result = (*current, item)
    check_attachments(result)
    return result


def remove_attachment(status: str, current: Sequence[Attachment], document_id: str) -> tuple[Attachment, ...]:
    _require_draft(status)
    kept = tuple(a for a in current if a.document_id != document_id)
    if len(kept) == len(current):
        raise NotFound(f"document {document_id} is not attached", "document_id")
    return kept


@dataclass(frozen=True)
class ContractTemplate:
    """The standard template: a new contract made from it records (id, version) and takes its
    terms unless the contract states its own."""

    template_id: str
    version: int
    name: str
    terms: str
    created_by: str = ""  # as stored with the version
    created_at: datetime | None = None


def new_template_version(
    template_id: str, name: str, terms: str, previous: ContractTemplate | None
) -> ContractTemplate:
    problems: list[tuple[str, str]] = []
    values: dict[str, str] = {}
    for field, value, max_length in (("template_id", template_id, 64), ("name", name, 200), ("terms", terms, 20000)):
        try:
            values[field] = require_text(value, field, max_length=max_length)
        except ValidationFailed as exc:
            problems.append((field, exc.message))
    if problems:
        raise ValidationFailed.many(problems)
    return ContractTemplate(
        values["template_id"], previous.version + 1 if previous else 1, values["name"], values["terms"]
    )


def terms_from(template_terms: str | None, terms: str) -> str:
    """The contract's own terms when it states any, else the template's (no template: none)."""
    own = (terms or "").strip()
    return own or (template_terms or "")
