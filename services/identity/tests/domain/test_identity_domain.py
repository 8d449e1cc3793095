"""Identity's domain rules as plain Python: API key format, lockout, org-tree rules, password
policy, roles and permissions, unit defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from salesgrid_common.errors import ValidationFailed
from salesgrid_common.scopes import Scope
from salesgrid_identity.domain import api_keys, lockout, org, passwords, roles, unit_defaults

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_api_keys_are_well_formed_and_a_typo_is_refused() -> None:
    key = api_keys.generate()
    assert key.startswith("sg_") and len(key) == 3 + 36 + 6 and api_keys.well_formed(key)
    flipped = key[:10] + ("A" if key[10] != "A" else "B") + key[11:]
    assert not api_keys.well_formed(flipped)  # the checksum catches a mistyped character
    assert not api_keys.well_formed(key[:-1]) and not api_keys.well_formed("xx" + key[2:])
    assert api_keys.generate() != key
    assert api_keys.key_hash(key) == api_keys.key_hash(key) != api_keys.key_hash(flipped)
    assert len(api_keys.key_hash(key)) == 64 and api_keys.display_prefix(key) == key[:10]


def test_lockout_after_the_policys_failures_for_its_duration() -> None:
    policy = lockout.LockoutPolicy(max_failures_per_account=3, lock_duration=timedelta(minutes=15))
    assert lockout.after_failure(0, policy, NOW) == (1, None)
    assert lockout.after_failure(1, policy, NOW) == (2, None)
    failures, until = lockout.after_failure(2, policy, NOW)
    assert (failures, until) == (3, NOW + timedelta(minutes=15))
    assert lockout.is_locked(until, NOW + timedelta(minutes=14))
    assert not lockout.is_locked(until, NOW + timedelta(minutes=15))
    assert not lockout.is_locked(None, NOW)


def test_org_unit_fields_are_validated_naming_the_field() -> None:
    assert org.validate_time_zone("Asia/Shanghai") == "Asia/Shanghai"
    assert org.validate_currency("ZWG") == "ZWG"  # the shared table, not a 35-code copy
    assert org.validate_name("  East   China  ") == "East China"
    assert org.validate_cidrs([" 10.1.2.3/8", "2001:db8::1/32"]) == ["10.0.0.0/8", "2001:db8::/32"]
    for call, field in (
        (lambda: org.validate_time_zone("Mars/Olympus"), "time_zone"),
        (lambda: org.validate_time_zone(""), "time_zone"),
        (lambda: org.validate_currency("ABC"), "currency"),
        (lambda: org.validate_name("   "), "name"),
        (lambda: org.validate_name("x" * 201), "name"),
        (lambda: org.validate_cidrs(["10.0.0.0/8", "nope"]), "ip_allowlist[1]"),
    ):
        with pytest.raises(ValidationFailed) as info:
            call()
        assert info.value.field == field


def test_org_paths_moves_and_allowlists() -> None:
    assert org.child_path("/c/r1/", "b1") == "/c/r1/b1/"
    org.check_move("/c/r1/b1/", "/c/r2/")
    for target in ("/c/r1/b1/", "/c/r1/b1/t1/"):
        with pytest.raises(ValidationFailed) as info:
            org.check_move("/c/r1/b1/", target)
        assert info.value.field == "new_parent_id"
    # the nearest unit that sets a list wins; none set: no restriction
    assert org.effective_allowlist([(False, []), (True, ["10.0.0.0/8"]), (True, ["0.0.0.0/0"])]) == ["10.0.0.0/8"]
    assert org.effective_allowlist([(True, []), (True, ["10.0.0.0/8"])]) == []
    assert org.effective_allowlist([(False, []), (False, [])]) == []


def test_password_policy() -> None:
    policy = passwords.PasswordPolicy(min_length=10, max_length=20, expiry_days=90)
    passwords.check_password("Tea-Garden-42", "alice", policy)
    for password, message in (
        ("short1!", "at least 10"),
        ("x" * 21, "at most 20"),
        ("my-alice-pass1", "login"),
        ("password123", "commonly used"),
    ):
        with pytest.raises(ValidationFailed) as info:
            passwords.check_password(password, "Alice", policy)
        assert info.value.field == "password" and message in info.value.message
    assert "password123" in passwords.common_passwords()
    assert passwords.is_expired(NOW - timedelta(days=91), policy, NOW)
    assert not passwords.is_expired(NOW - timedelta(days=90), policy, NOW)
    assert not passwords.is_expired(NOW - timedelta(days=9000), passwords.PasswordPolicy(expiry_days=None), NOW)


def test_password_hashes_verify_only_their_password() -> None:
    hashed = passwords.hash_password("Tea-Garden-42")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "Tea-Garden-42")
    assert not passwords.verify_password(hashed, "Tea-Garden-43")
    assert not passwords.verify_password("not a hash", "Tea-Garden-42")
    assert not passwords.verify_password(passwords.DUMMY_HASH, "Tea-Garden-42")


def test_builtin_roles() -> None:
    rep, manager = roles.BUILTIN_ROLES["rep"][1], roles.BUILTIN_ROLES["manager"][1]
    assert rep["customers:read"] == Scope.OWN and manager["customers:read"] == Scope.SUBTREE
    assert "contracts:approve" not in rep and manager["contracts:approve"] == Scope.SUBTREE
    assert "expenses:pay" not in rep and "expenses:pay" not in manager  # finance pays
    assert roles.BUILTIN_ROLES["finance"][1]["expenses:pay"] == Scope.ALL
    assert rep["users:read"] == Scope.TEAM and rep["products:read"] == Scope.ALL
    assert set(roles.BUILTIN_ROLES["admin"][1]) == roles.CATALOGUE
    assert all(name.endswith(":read") for name in roles.BUILTIN_ROLES["auditor"][1])


def test_custom_roles_and_effective_permissions() -> None:
    assert roles.validate_permissions({"customers:read": "team"}) == {"customers:read": Scope.TEAM}
    for perms in ({"customers:fly": "own"}, {"customers:read": "galaxy"}):
        with pytest.raises(ValidationFailed) as info:
            roles.validate_permissions(perms)
        assert info.value.field == "permissions"
    assert roles.validate_role_code("key_accounts") == "key_accounts"
    for code in ("rep", "K", "1abc", "has-dash"):
        with pytest.raises(ValidationFailed):
            roles.validate_role_code(code)
    merged = roles.effective_permissions(
        [{"customers:read": Scope.OWN, "nope:x": Scope.ALL}, {"customers:read": Scope.SUBTREE, "leads:read": Scope.OWN}]
    )
    assert merged == {"customers:read": Scope.SUBTREE, "leads:read": Scope.OWN}  # widest wins, unknown dropped
    assert roles.within_grant(
        {"customers:read": Scope.ALL, "leads:read": Scope.OWN, "audit:read": Scope.OWN},
        {"customers:read": Scope.SUBTREE, "leads:read": Scope.TEAM},
    ) == ["audit:read", "customers:read"]


def test_a_new_unit_inherits_zone_and_currency() -> None:
    shanghai = unit_defaults.UnitDefaults("Asia/Shanghai", "CNY")
    assert unit_defaults.inherited(shanghai, time_zone="", currency="") == shanghai
    assert unit_defaults.inherited(shanghai, time_zone="Asia/Tokyo", currency="") == unit_defaults.UnitDefaults(
        "Asia/Tokyo", "CNY"
    )
    assert unit_defaults.inherited(None, time_zone="", currency="USD") == unit_defaults.UnitDefaults("UTC", "USD")
