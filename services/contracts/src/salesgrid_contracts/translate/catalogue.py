"""Products, contract templates and approval rules -> proto."""

from __future__ import annotations

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid_common.protos import to_timestamp
from salesgrid_contracts.domain.approval import ApprovalRules
from salesgrid_contracts.domain.attachments import ContractTemplate
from salesgrid_contracts.domain.products import Product


def product_pb(product: Product) -> pb.Product:
    return pb.Product(
        id=product.product_id,
        sku=product.sku,
        name=product.name,
        active=product.active,
        version=product.version,
        prices=[pb.ProductPrice(currency=c, amount=str(a)) for c, a in sorted(product.prices.items())],
    )


def template_pb(row: ContractTemplate) -> pb.ContractTemplate:
    return pb.ContractTemplate(
        template_id=row.template_id,
        version=row.version,
        name=row.name,
        terms=row.terms,
        updated_by=row.created_by,
        created_at=to_timestamp(row.created_at),
    )


def rules_pb(rules: ApprovalRules) -> pb.ApprovalRules:
    return pb.ApprovalRules(
        org_unit_id=rules.org_unit_id,
        currency=rules.currency or "",
        thresholds=[
            pb.ApprovalThreshold(up_to=str(r.up_to.amount) if r.up_to else "", role=r.role) for r in rules.rules
        ],
    )
