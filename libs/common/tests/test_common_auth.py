"""JWT verification fails closed: expired, wrong audience/issuer, wrong key, alg none, tampered."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.tokens import KeySet, decode_token
from salesgrid_common.auth.verifiers import AsyncTokenVerifier, VerifiedTokens
from salesgrid_common.scopes import Scope
from salesgrid_common.errors import Unauthenticated
from salesgrid_dev.testing import AUDIENCE, ISSUER, TestKeys, principal


def verify(token: str, keys: TestKeys) -> Principal:
    return decode_token(token, KeySet.from_jwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE)


def test_valid_token_yields_principal_with_scopes() -> None:
    keys = TestKeys()
    who = principal(user_id="u1", org_path="/c/b/", permissions={"customers:read": "subtree"})
    got = verify(keys.token(who), keys)
    assert got.subject_id == "u1" and got.org_path == "/c/b/"
    assert got.scope_for("customers:read") is Scope.SUBTREE
    assert got.scope_for("customers:update") is None


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "evil"}, "issuer"),
    ],
)
def test_bad_claims_are_rejected(overrides: dict, message: str) -> None:
    keys = TestKeys()
    with pytest.raises(Unauthenticated, match=message):
        verify(keys.token(principal(), **overrides), keys)


def test_token_signed_by_another_key_with_same_kid_is_rejected() -> None:
    trusted, attacker = TestKeys("k1"), TestKeys("k1")
    with pytest.raises(Unauthenticated):
        verify(attacker.token(principal()), trusted)


def test_alg_none_is_rejected() -> None:
    keys = TestKeys()
    claims = jwt.decode(keys.token(principal()), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": keys.kid})
    with pytest.raises(Unauthenticated, match="algorithm"):
        verify(unsigned, keys)


def test_tampered_payload_is_rejected() -> None:
    keys = TestKeys()
    header, payload, signature = keys.token(principal(permissions={"customers:read": "own"})).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["perms"] = {"customers:read": "all"}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated):
        verify(f"{header}.{forged}.{signature}", keys)


def test_unknown_scope_grants_nothing() -> None:
    keys = TestKeys()
    token = keys.token(principal(), perms={"customers:read": "galaxy", "customers:update": "own"})
    got = verify(token, keys)
    assert got.scope_for("customers:read") is None
    assert got.scope_for("customers:update") is Scope.OWN


paths = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map(lambda p: "/" + "/".join(p) + "/")


@settings(max_examples=200, deadline=None)
@given(
    viewer_path=paths,
    record_path=paths,
    scope=st.sampled_from(["own", "team", "subtree", "all", None]),
    owner_is_viewer=st.booleans(),
    shared=st.booleans(),
)
def test_can_see_matches_the_scope_definition(
    viewer_path: str, record_path: str, scope: str | None, owner_is_viewer: bool, shared: bool
) -> None:
    viewer = principal(user_id="v", org_path=viewer_path, permissions={"x:read": scope} if scope else {})
    owner = "v" if owner_is_viewer else "o"
    expected = scope is not None and (
        owner_is_viewer
        or shared
        or scope == "all"
        or (scope == "subtree" and record_path.startswith(viewer_path))
        or (scope == "team" and record_path == viewer_path)
    )
    assert viewer.can_see("x:read", owner, record_path, frozenset({"v"}) if shared else frozenset()) == expected


# --- the verified-token cache -------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def caching_verifier(keys: TestKeys, cache: VerifiedTokens) -> tuple[AsyncTokenVerifier, list[int]]:
    fetches: list[int] = []

    async def fetch() -> str:
        fetches.append(1)
        return keys.jwks()

    return AsyncTokenVerifier(fetch, issuer=ISSUER, audience=AUDIENCE, cache=cache), fetches


async def test_a_token_is_verified_once_then_served_from_the_cache_until_it_expires() -> None:
    keys = TestKeys()
    issued = time.time()
    clock = FakeClock(issued)
    verifier, _ = caching_verifier(keys, VerifiedTokens(clock=clock))
    token = keys.token(principal(user_id="u1"), exp=int(issued) + 60)
    first = await verifier.verify(token, "10.0.0.1")
    assert len(verifier.verified) == 1
    verifier.keys = KeySet()  # a second signature check would now fail: the hit must come from the cache
    again = await verifier.verify(token, "10.0.0.2")
    assert again.subject_id == first.subject_id == "u1"
    assert again.client_ip == "10.0.0.2" and first.client_ip == "10.0.0.1"  # the address is per request
    clock.now = int(issued) + 60  # at exp the cached entry is gone and the token is checked (and refused) again
    with pytest.raises(Unauthenticated):
        await verifier.verify(token, "10.0.0.2")


async def test_the_cache_never_accepts_a_token_the_verifier_refused() -> None:
    keys, attacker = TestKeys("k1"), TestKeys("k1")
    verifier, _ = caching_verifier(keys, VerifiedTokens())
    await verifier.verify(keys.token(principal()), "")
    forged = attacker.token(principal(permissions={"customers:read": "all"}))
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await verifier.verify(forged, "")
    assert len(verifier.verified) == 1


def test_the_cache_is_bounded_dropping_expired_entries_first() -> None:
    clock = FakeClock(1000.0)
    cache = VerifiedTokens(max_entries=3, clock=clock)
    cache.put(Principal(subject_id="old", kind="user", unit_id="", org_path="", token="t-old"), 1001.0)
    for name in ("a", "b"):
        cache.put(Principal(subject_id=name, kind="user", unit_id="", org_path="", token=f"t-{name}"), 5000.0)
    clock.now = 1002.0
    cache.put(Principal(subject_id="c", kind="user", unit_id="", org_path="", token="t-c"), 5000.0)
    assert len(cache) == 3 and cache.get("t-old", "") is None and cache.get("t-a", "") is not None
    cache.put(Principal(subject_id="d", kind="user", unit_id="", org_path="", token="t-d"), 5000.0)
    assert len(cache) == 3 and cache.get("t-a", "") is None and cache.get("t-d", "") is not None
