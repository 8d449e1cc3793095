"""Rotating identity's signing key: tokens signed with the old key stay valid while it is
published as retired, and are refused once it is not."""

from __future__ import annotations

import json

import grpc
import jwt

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_dev.testing import bearer

from identity_fixtures import ADMIN_PASSWORD, code_of, identity_service, login, run_identity, stubs


async def test_signing_key_rotation_keeps_old_tokens_valid(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def pem() -> str:
        return (
            Ed25519PrivateKey.generate()
            .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            .decode()
        )

    old_key, new_key = pem(), pem()
    async with identity_service(
        database_url, nats_url, test_keys, signing_key=old_key, signing_key_id="k-old"
    ) as running:
        old_token = (await login(running, "admin", ADMIN_PASSWORD)).access_token
        old_jwks = (await stubs(running)[0].GetJwks(pb.GetJwksRequest())).json
    async with run_identity(
        database_url, nats_url, test_keys, signing_key=new_key, signing_key_id="k-new", retired_public_keys=old_jwks
    ) as running:
        auth, ident = stubs(running)
        kids = [k["kid"] for k in json.loads((await auth.GetJwks(pb.GetJwksRequest())).json)["keys"]]
        assert kids == ["k-new", "k-old"]
        assert (await ident.GetMe(pb.GetMeRequest(), metadata=bearer(old_token))).login == "admin"
        new_token = (await login(running, "admin", ADMIN_PASSWORD)).access_token
        assert jwt.get_unverified_header(new_token)["kid"] == "k-new"
    # Once the overlap ends (old key no longer published), old tokens are refused.
    async with run_identity(database_url, nats_url, test_keys, signing_key=new_key, signing_key_id="k-new") as running:
        assert (
            await code_of(stubs(running)[1].GetMe(pb.GetMeRequest(), metadata=bearer(old_token)))
            == grpc.StatusCode.UNAUTHENTICATED
        )
