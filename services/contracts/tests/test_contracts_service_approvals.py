"""Approval through the contracts service's gRPC API on SQLite and PostgreSQL: an amendment
leaves the signed version in force until it is approved, and the approval rules of the nearest
unit win."""

from __future__ import annotations

import grpc
from salesgrid.contracts.v1 import contracts_pb2 as pb

from contracts_service_fixtures import Platform, event_types, failure, new_contract, signed_contract
from contracts_service_fixtures import platform  # noqa: F401 - fixtures


async def test_amendment_keeps_the_old_version_until_approved(platform: Platform) -> None:
    p = platform
    contract = await signed_contract(p)
    code, _ = await failure(
        p.api.AmendContract(
            pb.AmendContractRequest(id=(await new_contract(p, price="7.00")).id, terms="x"), metadata=p.tokens["rep-1"]
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # a draft is edited, not amended
    code, fields = await failure(
        p.api.AmendContract(pb.AmendContractRequest(id=contract.id, end_date="2026-01-01"), metadata=p.tokens["rep-1"])
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["end_date"])
    unchanged = await p.api.GetContract(pb.GetContractRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert (unchanged.version, unchanged.approval_kind) == (contract.version, "")  # nothing written

    # 5 seats instead of 3: 100,000 is still within the manager's limit.
    amended = await p.api.AmendContract(
        pb.AmendContractRequest(
            id=contract.id,
            lines=[pb.ContractLineInput(product_id=contract.lines[0].product_id, quantity="5")],
            terms="five seats",
        ),
        metadata=p.tokens["rep-1"],
    )
    assert (amended.status, amended.total, amended.revision, amended.approval_kind) == (
        "signed",
        "60000.00",
        1,
        "amendment",
    )
    assert (amended.proposed.revision, amended.proposed.total, amended.proposed.status) == (2, "100000.00", "proposed")
    assert [s.approver_id for s in amended.approval_steps] == ["mgr-1"]
    code, _ = await failure(
        p.api.AmendContract(pb.AmendContractRequest(id=contract.id, terms="again"), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # one approval at a time
    # The version in force stays collectible meanwhile.
    await p.api.SetPaymentPlan(
        pb.SetPaymentPlanRequest(
            contract_id=contract.id, instalments=[pb.InstalmentInput(due_date="2026-04-01", amount="60000.00")]
        ),
        metadata=p.tokens["rep-1"],
    )

    applied = await p.api.ApproveContract(
        pb.ContractDecisionRequest(id=contract.id, comment="fine"), metadata=p.tokens["mgr-1"]
    )
    assert (applied.status, applied.total, applied.revision, applied.terms, applied.approval_kind) == (
        "signed",
        "100000.00",
        2,
        "five seats",
        "",
    )
    assert [l.quantity for l in applied.lines] == ["5"]
    versions = await p.api.ListContractVersions(pb.GetContractRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert [(v.revision, v.status, v.total) for v in versions.versions] == [
        (1, "superseded", "60000.00"),
        (2, "in_force", "100000.00"),
    ]

    # A rejected amendment leaves the contract as it was and is kept as rejected.
    await p.api.AmendContract(
        pb.AmendContractRequest(id=contract.id, end_date="2027-12-31"), metadata=p.tokens["rep-1"]
    )
    rejected = await p.api.RejectContract(
        pb.ContractDecisionRequest(id=contract.id, comment="no"), metadata=p.tokens["mgr-1"]
    )
    assert (rejected.status, rejected.end_date, rejected.revision) == ("signed", "2027-03-31", 2)
    versions = await p.api.ListContractVersions(pb.GetContractRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert [(v.revision, v.status) for v in versions.versions] == [(1, "superseded"), (2, "in_force"), (3, "rejected")]
    types = await event_types(p, steps=True)
    assert types.count("salesgrid.contracts.contract.amended") == 1
    assert types[-3:].count("salesgrid.contracts.contract.rejected") == 1
    # Each round: its first step activated, then decided.
    assert types.count("salesgrid.contracts.approval.step_activated") == 3
    assert types.count("salesgrid.contracts.approval.step_approved") == 2
    assert types.count("salesgrid.contracts.approval.step_rejected") == 1


async def test_approval_rules_of_the_nearest_unit_win(platform: Platform) -> None:
    p = platform
    admin = p.tokens["rules-admin"]

    def rules(*pairs: tuple[str, str]) -> list[pb.ApprovalThreshold]:
        return [pb.ApprovalThreshold(up_to=up_to, role=role) for up_to, role in pairs]

    # Bad thresholds are named and nothing is stored.
    code, fields = await failure(
        p.api.SetApprovalRules(
            pb.SetApprovalRulesRequest(
                org_unit_id="b1",
                currency="CNY",
                thresholds=rules(("5000", "manager"), ("1000", "director"), ("", "regional_head")),
            ),
            metadata=admin,
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["thresholds[1].up_to"])
    default = await p.api.GetApprovalRules(pb.GetApprovalRulesRequest(org_unit_id="b1"), metadata=admin)
    # A unit that does not exist has no rules to read or set (not the defaults of a made-up unit).
    for call in (
        p.api.GetApprovalRules(pb.GetApprovalRulesRequest(org_unit_id="no-such-unit"), metadata=admin),
        p.api.SetApprovalRules(
            pb.SetApprovalRulesRequest(org_unit_id="no-such-unit", currency="CNY", thresholds=rules(("", "manager"))),
            metadata=admin,
        ),
    ):
        assert await failure(call) == (grpc.StatusCode.NOT_FOUND, ["org_unit_id"])
    assert [t.up_to for t in default.thresholds] == ["100000.00", "1000000.00", ""]
    code, _ = await failure(
        p.api.SetApprovalRules(
            pb.SetApprovalRulesRequest(org_unit_id="b1", currency="CNY", thresholds=rules(("", "manager"))),
            metadata=p.tokens["rep-1"],
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED

    # The root says "the manager up to any amount"; the branch (nearer to the rep) lowers the limit.
    await p.api.SetApprovalRules(
        pb.SetApprovalRulesRequest(org_unit_id="c", currency="CNY", thresholds=rules(("", "manager"))), metadata=admin
    )
    contract = await new_contract(p, price="20000.00")  # 60,000
    submitted = await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert [s.approver_id for s in submitted.approval_steps] == ["mgr-1"]  # the root's rules
    await p.api.RejectContract(pb.ContractDecisionRequest(id=contract.id, comment="redo"), metadata=p.tokens["mgr-1"])
    stored = await p.api.SetApprovalRules(
        pb.SetApprovalRulesRequest(
            org_unit_id="b1", currency="CNY", thresholds=rules(("10000", "manager"), ("", "director"))
        ),
        metadata=admin,
    )
    assert [(t.up_to, t.role) for t in stored.thresholds] == [("10000.00", "manager"), ("", "director")]
    again = await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert [(s.approver_id, s.role) for s in again.approval_steps] == [("mgr-1", "manager"), ("dir-1", "director")]
