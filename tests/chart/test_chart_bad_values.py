"""Invalid values fail rendering with a message that names the offending value."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import NAMESPACE, RELEASE

BAD_VALUES = {
    "unknown component": ({"components": {"billing": {"port": 50057}}}, "'billing' not allowed"),
    "negative replicas": ({"components": {"customers": {"replicas": -1}}}, "/components/customers/replicas"),
    "negative default replicas": ({"default": {"replicas": -3}}, "/default/replicas"),
    "external database without URL": (
        {"components": {"pipeline": {"database": {"mode": "external"}}}},
        "components.pipeline.database.external.existingSecret is required",
    ),
    "unknown caller": ({"components": {"customers": {"callers": ["billing"]}}}, "/components/customers/callers/0"),
    "external NATS without URL": ({"nats": {"enabled": False, "external": {"url": ""}}}, "nats.external.url"),
    "region not in the region list": ({"region": "mars"}, 'region "mars"'),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_values_fail_naming_the_value(helm: Any, chart: Any, case: str) -> None:
    values, expected = BAD_VALUES[case]
    with pytest.raises(helm.HelmError) as caught:
        chart.render(values, name=RELEASE, namespace=NAMESPACE)
    assert expected in str(caught.value)
