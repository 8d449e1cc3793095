"""Settings fail fast with a message naming the variable."""

from __future__ import annotations

import pytest

from salesgrid_common.settings import ServiceSettings, SettingsError, load_settings
from salesgrid_identity.settings import DEV_SIGNING_KEY, IdentitySettings

BASE = {"service_name": "customers", "nats_url": "nats://x:4222", "grpc_port": 1, "identity_addr": "id:1"}


def test_missing_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESGRID_DATABASE_URL", raising=False)
    with pytest.raises(SettingsError, match="SALESGRID_DATABASE_URL"):
        load_settings(ServiceSettings, **BASE)


def test_sqlite_is_refused_in_prod() -> None:
    with pytest.raises(SettingsError, match="SQLite"):
        load_settings(ServiceSettings, **BASE, environment="prod", database_url="sqlite+aiosqlite:///x.db")


def test_environment_defaults_to_prod_so_unsafe_values_are_caught() -> None:
    with pytest.raises(SettingsError):
        load_settings(ServiceSettings, **BASE, database_url="sqlite+aiosqlite:///x.db")


def test_dev_signing_key_is_refused_outside_dev() -> None:
    url = "postgresql+asyncpg://u@h/db"
    with pytest.raises(SettingsError, match="SALESGRID_SIGNING_KEY"):
        load_settings(IdentitySettings, **BASE, environment="prod", database_url=url, signing_key=DEV_SIGNING_KEY)
    with pytest.raises(SettingsError, match="SALESGRID_SIGNING_KEY"):
        load_settings(IdentitySettings, **BASE, environment="prod", database_url=url)
    dev = load_settings(IdentitySettings, **BASE, environment="dev", database_url="sqlite+aiosqlite:///x.db")
    assert dev.private_key_pem() == DEV_SIGNING_KEY


def test_out_of_range_port_is_named() -> None:
    with pytest.raises(SettingsError, match="SALESGRID_GRPC_PORT"):
        load_settings(
            ServiceSettings, **{**BASE, "grpc_port": 70000}, environment="dev", database_url="sqlite+aiosqlite:///x.db"
        )
