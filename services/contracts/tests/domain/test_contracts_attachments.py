import pytest
from salesgrid_contracts.domain.attachments import (
    MAX_ATTACHMENTS,
    Attachment,
    ContractTemplate,
    add_attachment,
    check_attachments,
    new_attachment,
    new_template_version,
    remove_attachment,
    terms_from,
)
from salesgrid_contracts.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    ValidationFailed,
)

SHA = "ab" * 32


def ref(document_id: str = "doc-1") -> Attachment:
    return new_attachment(document_id, "contract.pdf", "application/pdf", 10, SHA)


def test_a_reference_is_normalised() -> None:
    item = new_attachment(" doc-1 ", " scan.PDF ", "Application/PDF", 1, SHA.upper())
    assert item == Attachment("doc-1", "scan.PDF", "application/pdf", 1, SHA)


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("attachment.document_id", {"document_id": " "}),
        ("attachment.file_name", {"file_name": ""}),
        ("attachment.content_type", {"content_type": "pdf"}),
        ("attachment.size_bytes", {"size_bytes": 0}),
        ("attachment.size_bytes", {"size_bytes": 100 * 1024 * 1024 + 1}),
        ("attachment.sha256", {"sha256": "ab" * 31}),
        ("attachment.sha256", {"sha256": "zz" * 32}),
    ],
)
def test_bad_references_name_the_field(field: str, kwargs: dict) -> None:  # type: ignore[type-arg]
    values = {
        "document_id": "d",
        "file_name": "f.pdf",
        "content_type": "application/pdf",
        "size_bytes": 5,
        "sha256": SHA,
    } | kwargs
    with pytest.raises(ValidationFailed) as raised:
        new_attachment(**values)
    assert raised.value.field == field


def test_add_and_remove_only_on_drafts() -> None:
    held = add_attachment("draft", (), ref())
    assert [a.document_id for a in held] == ["doc-1"]
    with pytest.raises(AlreadyExists):
        add_attachment("draft", held, ref())
    for status in ("pending_approval", "approved", "signed", "active"):
        with pytest.raises(FailedPrecondition):
            add_attachment(status, held, ref("doc-2"))
        with pytest.raises(FailedPrecondition):
            remove_attachment(status, held, "doc-1")
    with pytest.raises(NotFound):
        remove_attachment("draft", held, "doc-9")
    assert remove_attachment("draft", held, "doc-1") == ()


def test_a_set_holds_each_document_once_and_not_too_many() -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_attachments([ref("a"), ref("b"), ref("a")])
    assert raised.value.field == "attachments[2].document_id"
    with pytest.raises(ValidationFailed):
        check_attachments([ref(f"d{i}") for i in range(MAX_ATTACHMENTS + 1)])


def test_template_versions_and_default_terms() -> None:
    first = new_template_version("standard", "Standard", "Net 30", None)
    second = new_template_version("standard", "Standard", "Net 45", first)
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(ValidationFailed) as raised:
        new_template_version("standard", "", " ", second)
    assert [f for f, _ in raised.value.violations] == ["name", "terms"]
    assert terms_from(second.terms, "") == "Net 45"
    assert terms_from(second.terms, " Net 10 ") == "Net 10"
    assert terms_from(None, "") == ""
    assert isinstance(second, ContractTemplate)
