"""Domain records -> proto (and permission lists back) for the identity servicers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_common.auth.principal import Principal
from salesgrid_common.protos import to_timestamp
from salesgrid_identity.domain.api_keys import ApiKey
from salesgrid_identity.domain.org import OrgUnit
from salesgrid_identity.domain.users import User
from salesgrid_identity.usecases import Tokens
from salesgrid_identity.usecases.login_protection import ProtectionView


def perms_pb(perms: Mapping[str, object]) -> list[pb.Permission]:
    return [
        pb.Permission(name=name, scope=getattr(scope, "name", str(scope)).lower())
        for name, scope in sorted(perms.items())
    ]


@lru_cache(maxsize=256)
def _perms_wire(perms: tuple[tuple[str, object], ...]) -> bytes:
    """A User message's permissions field as encoded (what GetMe answers on every call; building
    the messages cost more than the rest of the answer). Memoised by the permissions themselves,
    bounded at 256 distinct sets."""
    return pb.User(permissions=perms_pb(dict(perms))).SerializeToString()


def perm_map(perms: Iterable[pb.Permission]) -> dict[str, str]:
    return {p.name: p.scope for p in perms}


def tokens_pb(tokens: Tokens) -> pb.TokenPair:
    return pb.TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        token_type="Bearer",
        password_change_required=tokens.password_change_required,
        rate_limit_per_minute=tokens.rate_limit_per_minute,
    )


def unit_pb(unit: OrgUnit) -> pb.OrgUnit:
    return pb.OrgUnit(
        id=unit.id,
        parent_id=unit.parent_id or "",
        name=unit.name,
        code=unit.code,
        kind=unit.kind,
        path=unit.path,
        time_zone=unit.time_zone,
        currency=unit.currency,
        ip_allowlist=list(unit.ip_allowlist),
        ip_allowlist_inherited=not unit.has_ip_allowlist,
        active=unit.active,
        version=unit.version,
    )


def partner_pb(principal: Principal) -> pb.User:
    """GetMe's answer to a partner's API key: the key's principal as its token carries it."""
    message = pb.User(
        id=principal.subject_id,
        display_name=principal.name,
        unit_id=principal.unit_id,
        org_path=principal.org_path,
        active=True,
        kind="api_key",
    )
    message.MergeFromString(_perms_wire(tuple(principal.permissions.items())))
    return message


def user_pb(user: User, principal: Principal | None, org_path: str = "") -> pb.User:
    message = pb.User(
        id=user.id,
        login=user.login,
        display_name=user.display_name,
        email=user.email,
        unit_id=user.unit_id,
        org_path=principal.org_path if principal else org_path,
        manager_id=user.manager_id or "",
        roles=list(user.roles),
        active=user.active,
        password_change_required=user.must_change_password,
        locked_until=to_timestamp(user.locked_until),
        version=user.version,
        kind="user",
    )
    if principal:
        message.MergeFromString(_perms_wire(tuple(principal.permissions.items())))  # appends the list
    return message


def login_protection_pb(view: ProtectionView) -> pb.LoginProtection:
    policy = view.policy
    limits = pb.LoginLimits(
        max_failures_per_account=view.max_failures_per_account,
        account_lock_minutes=int(view.account_lock.total_seconds() // 60),
        max_failures_per_address=policy.max_failures_per_address,
        max_failures_per_login_from_throttled_address=policy.max_failures_per_pair,
        window_minutes=int(policy.window.total_seconds() // 60),
        failure_delay_step_ms=int(policy.delay_step.total_seconds() * 1000),
        failure_delay_max_ms=int(policy.max_delay.total_seconds() * 1000),
    )
    return pb.LoginProtection(
        limits=limits,
        accounts=[
            pb.LockedAccount(
                user_id=a.user.id,
                login=a.user.login,
                display_name=a.user.display_name,
                unit_id=a.user.unit_id,
                org_path=a.org_path,
                failed_attempts=a.user.failed_attempts,
                locked_until=to_timestamp(a.user.locked_until),
            )
            for a in view.accounts
        ],
        addresses=[
            pb.ThrottledAddress(
                address=a.address, failures=a.failures, logins=a.logins, throttled_until=to_timestamp(a.throttled_until)
            )
            for a in view.addresses
        ],
    )


def api_key_pb(key: ApiKey) -> pb.ApiKey:
    return pb.ApiKey(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        unit_id=key.unit_id,
        permissions=[pb.Permission(name=k, scope=v) for k, v in sorted(key.permissions.items())],
        expires_at=to_timestamp(key.expires_at),
        revoked_at=to_timestamp(key.revoked_at),
        last_used_at=to_timestamp(key.last_used_at),
        created_at=to_timestamp(key.created_at),
        created_by=key.created_by,
        rate_limit_per_minute=key.rate_limit_per_minute or 0,
    )
