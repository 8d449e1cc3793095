"""Identity's use cases: each runs in one transaction, applies the domain rules, writes its
events to the outbox in that same transaction, and checks the caller's permission and scope."""

from __future__ import annotations

from salesgrid_identity.usecases.sessions import LOGIN_FAILED, SessionsMixin
from salesgrid_identity.usecases.passwords import PasswordsMixin
from salesgrid_identity.usecases.api_keys import ApiKeysMixin
from salesgrid_identity.usecases.org import OrgMixin
from salesgrid_identity.usecases.users import UsersMixin
from salesgrid_identity.usecases.roles import RolesMixin
from salesgrid_identity.usecases.audit import AuditMixin
from salesgrid_identity.usecases.bootstrap import BootstrapMixin
from salesgrid_identity.usecases._support import Tokens
from salesgrid_identity.usecases.login_protection import LoginProtectionUseCases, ProtectionView


class IdentityUseCases(
    BootstrapMixin, SessionsMixin, PasswordsMixin, ApiKeysMixin, OrgMixin, UsersMixin, RolesMixin, AuditMixin
):
    """Every use case of the service: one mixin per topic, the shared helpers in _support."""


__all__ = ["LOGIN_FAILED", "Tokens", "IdentityUseCases", "LoginProtectionUseCases", "ProtectionView"]
