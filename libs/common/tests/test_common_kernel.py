"""The pure shared kernel: the modules of libs/common that domain code may import. They import
nothing of gRPC, HTTP, NATS, SQL or JWT, only each other and the standard library; and every
service's domain/ package imports nothing else of libs/common (docs/conventions.md)."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from salesgrid_common import orgpaths
from salesgrid_common.currencies import MINOR_UNITS
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.money import Money

ROOT = Path(__file__).resolve().parents[3]
COMMON = ROOT / "libs" / "common" / "src" / "salesgrid_common"
KERNEL = frozenset(
    {
        "errors",
        "currencies",
        "money",
        "orgpaths",
        "zones",
        "scopes",
        "validation",
        "approval",
        "weighted_pipeline",
        "actors",
        "clock",
        "custom_fields.definitions",
        "events.catalogue",
        "imports.model",
        "analytics_reports",
    }
)
FORBIDDEN = ("grpc", "sqlalchemy", "nats", "flask", "httpx", "jwt", "google", "salesgrid.", "asyncpg", "aiosqlite")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "salesgrid_common":
                names += [f"salesgrid_common.{alias.name}" for alias in node.names]
    return names


def _common_module(name: str) -> str | None:
    """ "salesgrid_common.money" -> "money" (a module of the library), else None."""
    head, _, rest = name.partition(".")
    return rest or None if head == "salesgrid_common" else None


@pytest.mark.parametrize("module", sorted(KERNEL))
def test_kernel_modules_are_pure(module: str) -> None:
    imported = _imports(COMMON / f"{module.replace('.', '/')}.py")
    assert [n for n in imported if n.startswith(FORBIDDEN)] == []
    assert {m for n in imported if (m := _common_module(n))} <= KERNEL


DOMAINS = sorted(ROOT.glob("services/*/src/*/domain"))


def test_every_service_has_a_domain_package() -> None:
    assert len(DOMAINS) >= 8


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda p: p.parts[-4])
def test_domain_code_imports_only_the_kernel(domain: Path) -> None:
    outside = {
        f"{path.name}: {name}"
        for path in domain.rglob("*.py")
        for name in _imports(path)
        if name.startswith(FORBIDDEN) or (_common_module(name) or "errors") not in KERNEL
    }
    assert outside == set()


def test_a_zwg_quote_amount_is_contract_money() -> None:
    """Pipeline quotes and contracts validate against the one table: ZWG (the Zimbabwe Gold,
    introduced 2024) was once known to pipeline's copy only, so a won ZWG deal could not become
    a contract."""
    from salesgrid_contracts.domain.money import Money as ContractMoney
    from salesgrid_pipeline.domain.money import money as pipeline_money

    quoted = pipeline_money(Decimal("1250.50"), "ZWG", "amount")
    assert ContractMoney(quoted.amount, quoted.currency) == Money(Decimal("1250.50"), "ZWG")


def test_every_service_checks_currencies_against_the_one_table() -> None:
    """The copies that disagreed: analytics and activities accepted any three capitals, identity
    knew 35 codes, pipeline and contracts each had their own table."""
    from salesgrid_activities.domain.money import is_currency_code
    from salesgrid_analytics.domain.money import validate_currency as analytics_currency
    from salesgrid_identity.domain.org import validate_currency as identity_currency
    from salesgrid_pipeline.domain.money import validate_currency as pipeline_currency

    for code in ("ZWG", "CNY", "JPY", "KWD", "SLE"):
        assert code in MINOR_UNITS
        assert is_currency_code(code)
        assert analytics_currency(code) == identity_currency(code) == pipeline_currency(code) == code
    for check in (analytics_currency, identity_currency, pipeline_currency):
        with pytest.raises(ValidationFailed):
            check("ABC")
    assert not is_currency_code("ABC")


def test_money_arithmetic_keeps_a_service_subclass() -> None:
    from salesgrid_activities.domain.money import Money as ActivitiesMoney

    total = ActivitiesMoney(Decimal("2.50"), "EUR") + ActivitiesMoney(Decimal("1"), "EUR")
    assert type(total) is ActivitiesMoney and total == ActivitiesMoney(Decimal("3.50"), "EUR")
    assert type(ActivitiesMoney.zero("EUR").times(3)) is ActivitiesMoney


def test_org_paths_one_parser_two_spellings() -> None:
    assert orgpaths.segments("/c/r1/b1/") == orgpaths.segments("/c/r1/b1") == ("c", "r1", "b1")
    assert orgpaths.normalize("/c/r1/") == "/c/r1" and orgpaths.stored("/c/r1") == "/c/r1/"
    assert orgpaths.stored("/") == "/"
    assert orgpaths.units_nearest_first("/c/r1/b1/") == ["b1", "r1", "c"]
    assert orgpaths.ancestor_paths("/c/r1/b1/") == ["/c/", "/c/r1/", "/c/r1/b1/"]
    assert orgpaths.is_within("/c/r1/b1/", "/c/r1") and orgpaths.is_within("c/r1", "")
    assert not orgpaths.is_within("/c/r10/", "/c/r1/")
    with pytest.raises(ValidationFailed):
        orgpaths.stored("c//r1")


def test_event_meta_names_the_caller_or_the_service() -> None:
    from salesgrid_common.auth.principal import Principal
    from salesgrid_common.events.envelope import EventMeta

    rep = Principal(subject_id="rep-1", kind="user", unit_id="b1", org_path="/c/b1/", client_ip="10.0.0.7")
    assert EventMeta.acting(rep, "pipeline", aggregate_id="o-1", org_path="/c/b1/") == EventMeta(
        aggregate_id="o-1", actor_id="rep-1", org_path="/c/b1/", actor_ip="10.0.0.7"
    )
    assert EventMeta.acting(None, "pipeline", aggregate_id="o-1", org_path="/c/") == EventMeta(
        aggregate_id="o-1", actor_id="system:pipeline", org_path="/c/", actor_ip=""
    )


class _RpcError(Exception):
    def __init__(self, code: object, details: str = "") -> None:
        self._code, self._details = code, details

    def code(self) -> object:
        return self._code

    def details(self) -> str:
        return self._details


def test_call_error_maps_another_services_status_once() -> None:
    import grpc

    from salesgrid_common.dependencies import call_error
    from salesgrid_common.errors import AlreadyExists, DependencyUnavailable, FailedPrecondition, PermissionDenied

    for code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):  # read alike: no leak
        hidden = call_error("pipeline", _RpcError(code), "opportunity_id", hidden="o-1 is not yours")  # type: ignore[arg-type]
        assert (type(hidden), hidden.violations) == (ValidationFailed, [("opportunity_id", "o-1 is not yours")])
    passed = {
        grpc.StatusCode.ALREADY_EXISTS: (AlreadyExists, "exists"),
        grpc.StatusCode.PERMISSION_DENIED: (PermissionDenied, "denied: {details}"),
    }
    error = call_error("customers", _RpcError(grpc.StatusCode.PERMISSION_DENIED, "no"), "f", passed=passed)  # type: ignore[arg-type]
    assert (type(error), error.message) == (PermissionDenied, "denied: no")
    error = call_error(
        "customers",
        _RpcError(grpc.StatusCode.ALREADY_EXISTS, "held by bob"),
        "f",  # type: ignore[arg-type]
        passed=passed,
        prefer_details=True,
    )
    assert (type(error), error.message) == (AlreadyExists, "held by bob")
    error = call_error(
        "customers",
        _RpcError(grpc.StatusCode.ALREADY_EXISTS),
        "f",
        passed=passed,  # type: ignore[arg-type]
        prefer_details=True,
    )
    assert error.message == "exists"
    assert type(call_error("x", _RpcError(grpc.StatusCode.UNAVAILABLE), "f")) is DependencyUnavailable  # type: ignore[arg-type]
    assert type(call_error("x", _RpcError(grpc.StatusCode.ABORTED, "?"), "f")) is FailedPrecondition  # type: ignore[arg-type]
