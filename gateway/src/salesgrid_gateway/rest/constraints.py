"""What proto3 cannot say about the services' messages, declared once for the whole REST API: the
fields a request must carry, allowed values, decimal and date formats, lengths and ranges. Both
the OpenAPI schemas (rest/schema.py) and the gateway's own checks (required fields, rest/views.py)
read it, so a request the document calls valid is one the services accept (as far as a schema can
tell: uniqueness, scopes and state rules remain the services' answer).

FIELDS: message full name -> field -> JSON Schema keywords merged into the derived schema. Only
what holds in both directions (a value the service validates on input and always writes on
output), or is keyed by a request message. REQUIRED: request (or body) message -> the fields that
must be present and not empty; a route sharing a message with other rules declares its own."""

from __future__ import annotations

import re
from typing import Any

from salesgrid_common.approval import ROLE_RANK
from salesgrid_common.channels import PARTNER_CHANNELS, PARTNER_TIERS
from salesgrid_common.currencies import MINOR_UNITS
from salesgrid_common.events import catalogue

DATE = {"format": "date"}
CURRENCY = {"enum": sorted(MINOR_UNITS), "description": "ISO 4217 code"}
MONEY = {"pattern": r"^-?[0-9]+(\.[0-9]+)?$", "description": "decimal amount, e.g. 1234.50"}
AMOUNT = {"pattern": r"^[0-9]+(\.[0-9]+)?$", "description": "decimal amount, e.g. 1234.50"}
TIER = {"enum": ["key", "normal", "potential"]}
SHARE_ROLE = {"enum": ["co_owner", "collaborator"]}
GROUP_BY = {"enum": ["contract", "customer", "owner", "unit"]}
METRIC = {"enum": ["collected_revenue", "contract_amount", "new_customers", "visits"]}
# a year, quarter or month (analytics refuses other years than 1-9998; the document keeps to 1000-8999)
PERIOD = {"pattern": "^[1-8][0-9]{3}(-Q[1-4]|-(0[1-9]|1[0-2]))?$", "description": "2026, 2026-Q3 or 2026-07"}
DISCOUNT_KIND = {"enum": ["", "percent", "amount"], "description": "empty: no discount"}
# a webhook subscription's event type: a verb (not a re-statement) or every verb (*) of an aggregate
# partners may receive, from the bus's catalogue
_DELIVERABLE = "|".join(re.escape(name) for name in sorted(catalogue.deliverable_aggregates()))
_RESTATED = "|".join(sorted(catalogue.RESTATEMENTS))
EVENT_TYPE = {
    "pattern": rf"^(?:{_DELIVERABLE})\.(?:\*|(?!(?:{_RESTATED})$)[a-z_]+)$",
    "description": "salesgrid.<service>.<aggregate>.<verb|*> of an aggregate partners may receive "
    "(GET /v1/webhook-event-types)",
}
FIELD_TYPES = {"enum": ["text", "number", "money", "date", "choice", "multi_choice", "user", "boolean"]}

C, P, A, ID, S = (f"salesgrid.{name}.v1." for name in ("customers", "pipeline", "activities", "identity", "contracts"))
FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    # customers
    C + "CreateCustomerRequest": {"tier": TIER},
    C + "UpdateCustomerRequest": {"tier": TIER},
    C + "ListCustomersRequest": {"tier": TIER, "sort": {"enum": ["newest", "name", "recently_updated"]}},
    C + "ShareCustomerRequest": {"role": SHARE_ROLE},
    C + "CustomerShare": {"role": SHARE_ROLE},
    C + "RequestShareRequest": {"role": {**SHARE_ROLE, "default": "collaborator"}},
    C + "ListShareRequestsRequest": {
        "box": {"enum": ["incoming", "outgoing"]},
        "status": {"enum": ["pending", "accepted", "declined"]},
    },
    C + "SetPartnerProfileRequest": {
        "channel": {"enum": ["", *PARTNER_CHANNELS]},
        "tier": {"enum": list(PARTNER_TIERS)},
    },
    C + "ListPartnersRequest": {"channel": {"enum": list(PARTNER_CHANNELS)}, "tier": {"enum": list(PARTNER_TIERS)}},
    # pipeline
    P + "CreateOpportunityRequest": {"expected_close_date": DATE},
    P + "UpdateOpportunityRequest": {"expected_close_date": DATE},
    P + "ConvertLeadRequest": {"expected_close_date": DATE},
    P + "Stage": {"outcome": {"enum": ["", "won", "lost"]}},
    P + "QuoteLineInput": {"discount_kind": DISCOUNT_KIND},
    P + "QuoteLine": {"discount_kind": DISCOUNT_KIND},
    P + "GetForecastRequest": {"group_by": {"enum": ["owner", "team", "subtree"]}},
    # activities
    A + "LogFollowUpRequest": {
        "kind": {"enum": ["call", "email", "meeting", "visit", "other"]},
        "next_follow_up_on": DATE,
    },
    A + "LocationReading": {
        "latitude": {"minimum": -90, "maximum": 90},
        "longitude": {"minimum": -180, "maximum": 180},
        "accuracy_m": {"minimum": 0},
    },
    A + "Task": {"status": {"enum": ["pending_acceptance", "accepted", "rejected", "completed"]}},
    A + "PolicyValues": {"report_deadline": {"pattern": "^([0-2][0-9]:[0-5][0-9])?$"}},
    A + "VerifySpotCheckRequest": {"verdict": {"enum": ["true", "false"]}},
    A + "InboxItem": {
        "title": {"description": "the notice in English (the fallback; render kind + params to translate)"},
        "params": {
            "description": "the facts the title is made of, by name, fixed per kind (see the Inbox proto's "
            "InboxItem): e.g. sla_overdue {stage, due_date}, instalment_overdue {number, seq, due_date, "
            "outstanding, currency}, expense_approval {total, currency, reminder}; empty on notices stored "
            "before parameters existed",
        },
    },
    # identity
    ID + "CreateRoleRequest": {"code": {"pattern": "^[a-z][a-z0-9_]{1,39}$"}},
    ID + "Permission": {"scope": {"enum": ["own", "team", "subtree", "all"]}},
    ID + "CreateUserRequest": {
        "password_change_required": {
            "default": True,
            "description": "the user must change the initial password at first login",
        }
    },
    ID + "CreateApiKeyRequest": {
        "rate_limit_per_minute": {
            "description": "requests per minute for this key across the gateway (0: the default for partner keys)"
        }
    },
    # contracts
    S + "CreateContractRequest": {"start_date": DATE, "end_date": DATE},
    S + "RecordReceiptRequest": {
        "amount": MONEY,
        "received_on": DATE,
        "method": {"enum": ["bank_transfer", "cash", "cheque", "card", "other"]},
    },
    S + "RecordRefundRequest": {"amount": MONEY, "refunded_on": DATE},
    S + "IssueInvoiceRequest": {"amount": MONEY, "issued_on": DATE},
    S + "InstalmentInput": {"amount": MONEY, "due_date": DATE},
    S + "AttachmentRef": {
        "sha256": {"pattern": "^[0-9a-f]{64}$"},
        "content_type": {"pattern": "^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$"},
        "size_bytes": {"minimum": 1, "maximum": 100 * 1024 * 1024},
    },
    S + "ApprovalThreshold": {
        "up_to": {
            "pattern": r"^([0-9]+(\.[0-9]+)?)?$",
            "description": "decimal amount; empty on the top tier (no upper bound)",
        },
        "role": {"enum": list(ROLE_RANK)},
    },
    S + "SetApprovalRulesRequest": {"currency": CURRENCY},
    S + "GetReceivablesRequest": {"group_by": GROUP_BY},
    S + "GetAgeingRequest": {"group_by": GROUP_BY, "as_of": DATE},
    # analytics, expenses, custom fields
    "salesgrid.analytics.v1.AnalyticsTarget": {"metric": METRIC, "period": PERIOD},
    "salesgrid.analytics.v1.ListTargetsRequest": {"metric": METRIC, "period": PERIOD},
    "salesgrid.analytics.v1.AnalyticsQuery": {
        "period": PERIOD,
        "from_period": PERIOD,
        "to_period": PERIOD,
        "metric": METRIC,
    },
    "salesgrid.expenses.v1.ExpenseLineInput": {
        "category": {"enum": ["travel", "communication", "entertainment", "other"]},
        "spent_on": DATE,
        "amount": AMOUNT,
    },
    "salesgrid.expenses.v1.PayClaimRequest": {"paid_on": DATE},
    "salesgrid.expenses.v1.CreateClaimRequest": {"currency": CURRENCY},
    "salesgrid.webhooks.v1.CreateSubscriptionRequest": {
        "url": {
            "format": "uri",
            "pattern": "^https?://[^/?#\\s]",
            "description": "an absolute https:// URL (http:// only where the platform allows it, e.g. development)",
        },
        "event_types": EVENT_TYPE,
    },
    "salesgrid.webhooks.v1.UpdateSubscriptionRequest": {"event_types": EVENT_TYPE},
    "salesgrid.webhooks.v1.RotateSecretRequest": {"overlap_seconds": {"minimum": 0}},
    "salesgrid.common.v1.ExportJob": {
        "id": {"description": "<service>.<job id>"},
        "format": {"enum": ["csv", "xlsx"]},
        "status": {"enum": ["queued", "running", "ready", "failed", "expired"]},
    },
    "salesgrid.common.v1.FieldDefinition": {"type": FIELD_TYPES},
    "salesgrid.common.v1.DefineFieldRequest": {"type": FIELD_TYPES},
}

# field name -> schema of a google.protobuf.Struct field of that name in any message
STRUCT_FIELDS: dict[str, dict[str, Any]] = {"custom_fields": {"$ref": "#/components/schemas/CustomFields"}}

REQUIRED: dict[str, tuple[str, ...]] = {
    C + "CreateCustomerRequest": ("legal_name",),
    C + "CheckDuplicatesRequest": ("legal_name",),
    C + "MergeCustomersRequest": ("survivor_id", "duplicate_ids"),
    C + "AddContactRequest": ("full_name",),
    C + "ShareCustomerRequest": ("user_id", "role"),
    C + "ArbitrateRequest": ("customer_ids", "registered_name"),
    P + "CreateOpportunityRequest": ("customer_id", "name", "amount", "expected_close_date"),
    P + "RegressOpportunityRequest": ("target_stage", "reason"),
    P + "LoseOpportunityRequest": ("reason",),
    P + "StageModel": ("name", "entry_stage", "stages"),
    P + "CreateQuoteRequest": ("opportunity_id", "lines"),
    P + "ListQuotesRequest": ("opportunity_id",),
    P + "CreateLeadRequest": ("company_name",),
    P + "AssignLeadRequest": ("rep_id",),
    P + "ConvertLeadRequest": ("expected_close_date",),
    P + "CloseLeadRequest": ("reason",),
    P + "DiscountPolicy": ("threshold_percent", "director_above_percent"),
    P + "UpdateLeadCustomFieldsRequest": ("custom_fields",),
    A + "LogFollowUpRequest": ("kind", "occurred_at", "notes"),
    A + "CheckInRequest": ("customer_id", "reading"),
    A + "CheckOutRequest": ("reading",),
    A + "CreateTaskRequest": ("title",),
    A + "RejectTaskRequest": ("reason",),
    A + "SubmitDailyReportRequest": ("summary",),
    A + "FalsifyDailyReportRequest": ("comment",),
    A + "AddReportCommentRequest": ("body",),
    A + "PublishAnnouncementRequest": ("unit_id", "title", "body"),
    A + "VerifySpotCheckRequest": ("verdict",),
    ID + "LoginRequest": ("login", "password"),
    ID + "RefreshRequest": ("refresh_token",),
    ID + "LogoutRequest": ("refresh_token",),
    ID + "ChangePasswordRequest": ("current_password", "new_password"),
    ID + "CreateOrgUnitRequest": ("name",),
    ID + "MoveOrgUnitRequest": ("new_parent_id",),
    ID + "CreateUserRequest": ("login", "display_name", "unit_id", "roles", "initial_password"),
    ID + "CreateRoleRequest": ("code", "name", "permissions"),
    ID + "CreateApiKeyRequest": ("name", "unit_id", "permissions"),
    S + "CreateProductRequest": ("sku", "name"),
    S + "CreateContractRequest": ("branch_code", "start_date", "end_date"),
    S + "TerminateContractRequest": ("reason",),
    S + "SetPaymentPlanRequest": ("instalments",),
    S + "AttachmentRef": ("document_id", "file_name", "content_type", "size_bytes", "sha256"),
    S + "SetContractTemplateRequest": ("name", "terms"),
    S + "SetApprovalRulesRequest": ("currency", "thresholds"),
    S + "RecordReceiptRequest": ("contract_id", "amount"),
    S + "RecordRefundRequest": ("contract_id", "amount", "reason"),
    S + "IssueInvoiceRequest": ("contract_id", "number", "amount"),
    S + "UpdateContractCustomFieldsRequest": ("custom_fields",),
    "salesgrid.analytics.v1.SetTargetsRequest": ("parent",),
    "salesgrid.common.v1.DefineFieldRequest": ("key", "label", "type"),
    "salesgrid.expenses.v1.CreateClaimRequest": ("currency", "lines"),
    "salesgrid.expenses.v1.PayClaimRequest": ("paid_on", "payment_reference"),
    "salesgrid.expenses.v1.ExpensePolicy": ("currency",),
    "salesgrid.webhooks.v1.CreateSubscriptionRequest": ("url", "event_types"),
}
