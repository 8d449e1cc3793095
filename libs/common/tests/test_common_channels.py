"""Channel attribution rules (salesgrid_common.channels) as plain Python."""

import pytest

from salesgrid_common.channels import check_attribution, precheck_attribution
from salesgrid_common.errors import ValidationFailed


def test_direct_by_default_and_never_with_a_partner() -> None:
    assert check_attribution("", "", None) == check_attribution("DIRECT", " ", None)
    assert check_attribution("", "", None).channel == "direct"
    with pytest.raises(ValidationFailed) as raised:
        check_attribution("direct", "p-1", "agent")
    assert raised.value.field == "partner_id"


@pytest.mark.parametrize(
    "channel, partner, partner_channel, field",
    [
        ("reseller", "", None, "channel"),
        ("agent", "", None, "partner_id"),  # a partner is required
        ("agent", "p-1", None, "partner_id"),  # no such active partner
        ("agent", "p-1", "distributor", "partner_id"),  # a partner of the other channel
    ],
)
def test_bad_attribution_names_the_field(channel: str, partner: str, partner_channel: str | None, field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_attribution(channel, partner, partner_channel, prefix="")
    assert raised.value.field == field


def test_partner_of_the_same_channel_is_accepted() -> None:
    sale = check_attribution("distributor", " p-2 ", "distributor")
    assert (sale.channel, sale.partner_id) == ("distributor", "p-2")


def test_precheck_needs_no_replica_but_still_refuses_shape_errors() -> None:
    precheck_attribution("agent", "p-9")  # whether p-9 is a partner is the replica's question
    for channel, partner in (("agent", ""), ("direct", "p-1"), ("mail", "")):
        with pytest.raises(ValidationFailed):
            precheck_attribution(channel, partner)
