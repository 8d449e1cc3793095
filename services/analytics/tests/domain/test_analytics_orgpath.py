import pytest

from salesgrid_analytics.domain import orgpath
from salesgrid_analytics.domain.errors import ValidationFailed


def test_normalize():
    assert orgpath.normalize("/acme/east/") == "/acme/east"
    assert orgpath.normalize("/") == "/"


@pytest.mark.parametrize("bad", ["acme", "", "/acme//east", "/acme/ east"])
def test_bad_paths_name_the_field(bad):
    with pytest.raises(ValidationFailed) as info:
        orgpath.normalize(bad, "unit")
    assert info.value.field == "unit"


def test_prefix_is_per_segment():
    assert orgpath.is_within("/acme/east/sh", "/acme/east")
    assert orgpath.is_within("/acme/east", "/acme/east")
    assert orgpath.is_within("/acme", "/")
    assert not orgpath.is_within("/acme/eastern", "/acme/east")
    assert not orgpath.is_within("/acme", "/acme/east")


def test_depth_parent_truncate():
    assert orgpath.depth("/acme/east/sh/t1") == orgpath.TEAM_DEPTH
    assert orgpath.parent("/acme/east") == "/acme"
    assert orgpath.parent("/acme") == "/"
    assert orgpath.parent("/") is None
    assert orgpath.truncate("/acme/east/sh/t1", orgpath.REGION_DEPTH) == "/acme/east"
    assert orgpath.truncate("/acme", orgpath.BRANCH_DEPTH) == "/acme"
