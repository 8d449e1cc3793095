"""Webhook rules as plain Python: signatures (checked by the standardwebhooks library, an
independent implementation), the retry schedule, which events a subscription may name and which
records its owner may receive, endpoint URLs."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from salesgrid_common.errors import ValidationFailed
from salesgrid_webhooks.domain import endpoints, events, retry, signing


def test_signatures_verify_with_the_standard_library_and_every_valid_secret() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body, now = b'{"type":"salesgrid.customers.customer.created"}', int(time.time())
    headers = signing.headers([new, old], "msg_1", now, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "salesgrid.customers.customer.created"}
        assert signing.verify(secret, "msg_1", now, body, headers["webhook-signature"], now)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", headers)
    assert not signing.verify(new, "msg_1", now - 301, body, headers["webhook-signature"], now)


def test_the_default_schedule_retries_for_more_than_a_day() -> None:
    assert retry.covers_a_day(retry.DEFAULT_SCHEDULE) and not retry.covers_a_day((5, 300))
    assert retry.delay_after(1, retry.DEFAULT_SCHEDULE) == 5
    assert retry.delay_after(len(retry.DEFAULT_SCHEDULE) + 1, retry.DEFAULT_SCHEDULE) is None
    assert retry.parse_schedule("") == retry.DEFAULT_SCHEDULE and retry.parse_schedule("1,2") == (1.0, 2.0)
    with pytest.raises(ValueError):
        retry.parse_schedule("1,-2")


def test_event_types_are_validated_and_matched() -> None:
    assert events.validate_event_types(["salesgrid.customers.customer.*", "salesgrid.pipeline.lead.created"]) == [
        "salesgrid.customers.customer.*",
        "salesgrid.pipeline.lead.created",
    ]
    for bad in ([], ["customers.created"], ["salesgrid.identity.auth.login_succeeded"], ["salesgrid.x.y.*"]):
        with pytest.raises(ValidationFailed) as error:
            events.validate_event_types(bad)
        assert error.value.field == "event_types"
    assert events.matches(["salesgrid.customers.customer.*"], "salesgrid.customers.customer.updated")
    assert events.matches(["salesgrid.pipeline.lead.created"], "salesgrid.pipeline.lead.created")
    assert not events.matches(["salesgrid.pipeline.lead.created"], "salesgrid.pipeline.lead.assigned")
    assert not events.matches(["salesgrid.customers.customer.*"], "salesgrid.customers.contact.created")


def test_a_subscriber_receives_only_records_its_owner_could_read() -> None:
    t = "salesgrid.customers.customer.created"
    assert events.visible({"customers:read": "all"}, "/c/", t, "/c/b/")
    assert events.visible({"customers:read": "subtree"}, "/c/a/", t, "/c/a/x/")
    assert not events.visible({"customers:read": "subtree"}, "/c/a/", t, "/c/b/")
    assert events.visible({"customers:read": "team"}, "/c/a/", t, "/c/a/")
    assert not events.visible({"customers:read": "team"}, "/c/a/", t, "/c/a/x/")
    assert not events.visible({"customers:read": "own"}, "/c/a/", t, "/c/a/")  # closed: owner unknown
    assert not events.visible({"leads:read": "all"}, "/c/", t, "/c/")  # another resource's permission
    assert not events.visible({"customers:read": "subtree"}, "/c/a/", t, "")


def test_endpoint_urls() -> None:
    assert endpoints.validate_url(" https://erp.example.com/hook ", allow_http=False) == "https://erp.example.com/hook"
    assert endpoints.validate_url("http://127.0.0.1:9/x", allow_http=True)
    for bad in ("http://erp.example.com/hook", "ftp://x/y", "https://user:pw@x.com/", "/relative"):
        with pytest.raises(ValidationFailed) as error:
            endpoints.validate_url(bad, allow_http=False)
        assert error.value.field == "url"


def test_secrets_are_sealed_and_prod_needs_its_own_key() -> None:
    from pydantic import ValidationError

    from salesgrid_webhooks.secretbox import SecretBox
    from salesgrid_webhooks.settings import DEV_SECRET_KEY, WebhooksSettings

    box = SecretBox("k" * 32)
    sealed = box.seal("whsec_abc")
    assert "whsec_abc" not in sealed and box.open(sealed) == "whsec_abc"
    with pytest.raises(Exception):
        SecretBox("x" * 32).open(sealed)  # another key opens nothing
    base = {
        "service_name": "webhooks",
        "database_url": "postgresql+asyncpg://x/y",
        "nats_url": "nats://x",
        "grpc_port": 1,
        "identity_addr": "x:1",
        "environment": "prod",
    }
    for key in (None, DEV_SECRET_KEY, "short"):
        with pytest.raises(ValidationError):
            WebhooksSettings(**base, secret_key=key)
    with pytest.raises(ValidationError):
        WebhooksSettings(**base, secret_key="p" * 40, retry_schedule="5,300")  # less than a day of retries
    assert WebhooksSettings(**base, secret_key="p" * 40).schedule == retry.DEFAULT_SCHEDULE


def test_every_deliverable_event_comes_from_the_bus_catalogue() -> None:
    from salesgrid_common.events import catalogue

    assert events.READ_PERMISSIONS == catalogue.deliverable_aggregates()
    assert "expenses" in events.PRODUCERS and "pipeline" in events.PRODUCERS
    assert events.validate_event_types(["salesgrid.pipeline.discount_approval.*", "salesgrid.expenses.claim.paid"])
    for internal in ("salesgrid.pipeline.sla.*", "salesgrid.webhooks.subscription.disabled"):
        with pytest.raises(ValidationFailed):
            events.validate_event_types([internal])
    with pytest.raises(ValidationFailed):  # a re-statement changes nothing: never delivered
        events.validate_event_types(["salesgrid.customers.customer.restated"])
    assert not events.matches(["salesgrid.customers.customer.*"], "salesgrid.customers.customer.restated")


def test_a_printed_document_needs_both_contract_and_payment_reading() -> None:
    t = "salesgrid.contracts.document.printed"
    both = {"contracts:read": "subtree", "payments:read": "subtree"}
    assert events.visible(both, "/c/a/", t, "/c/a/x/")
    assert not events.visible({"contracts:read": "all"}, "/c/", t, "/c/a/")
    assert not events.visible({**both, "payments:read": "team"}, "/c/a/", t, "/c/a/x/")
    d = "salesgrid.pipeline.discount_approval.step_activated"
    assert events.visible({"quotes:read": "subtree"}, "/c/a/", d, "/c/a/x/")
    assert not events.visible({"opportunities:read": "all"}, "/c/", d, "/c/a/")
