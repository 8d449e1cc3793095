"""Shared fixtures for the pipeline domain tests (fixtures, not imports: conftest module names
are shared with other services' test trees)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesgrid_pipeline.domain.gate_facts import DocumentRef, FactValue, VisitKind, VisitRef
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.stage_model import StageModel, default_stage_model


@pytest.fixture
def model() -> StageModel:
    return default_stage_model()


@pytest.fixture
def approval_facts() -> dict[str, FactValue]:
    return {
        "budget": Money(Decimal("1000000"), "CNY"),
        "our_expected_amount": Money(Decimal("400000.50"), "CNY"),
        "latest_expected_bid_date": date(2024, 9, 30),
        "design_organisations": ("华东建筑设计研究院",),
        "decision_organisations": ("市住建局",),
        "user_organisations": ("市第一医院",),
        "decision_chain_visits": (
            VisitRef("v1", VisitKind.VISIT),
            VisitRef("v2", VisitKind.MEETING),
            VisitRef("v3", VisitKind.VISIT),
        ),
    }


@pytest.fixture
def formal_facts() -> dict[str, FactValue]:
    return {"expected_bid_date": date(2024, 9, 1), "expected_winning_amount": Money(Decimal("380000"), "CNY")}


@pytest.fixture
def bidding_facts() -> dict[str, FactValue]:
    return {
        "tender_document": DocumentRef("doc-tender", "招标文件.pdf"),
        "bid_document": DocumentRef("doc-bid", "投标文件.pdf"),
        "publication_date": date(2024, 8, 1),
        "response_date": date(2024, 8, 20),
    }


@pytest.fixture
def won_facts() -> dict[str, FactValue]:
    return {"award_notice": DocumentRef("doc-award"), "bid_opening_documents": DocumentRef("doc-opening")}
