"""Passwords use cases."""

from __future__ import annotations

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import ValidationFailed
from salesgrid_identity.domain import passwords
from salesgrid_identity.stores.users import save_user

from salesgrid_identity.usecases._support import IdentityUseCasesBase, _hash_password, _verify_password


class PasswordsMixin(IdentityUseCasesBase):
    """IdentityUseCases: passwords."""

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        async with self.sessions() as session, session.begin():
            user = await self._active_user(session, principal)
            if not await _verify_password(user.password_hash, current):
                raise ValidationFailed("is not the current password", "current_password")
            passwords.check_password(new, user.login, self.password_policy, "new_password")
            if await _verify_password(user.password_hash, new):
                raise ValidationFailed("must differ from the current password", "new_password")
            user = await save_user(session, user, user.with_password(await _hash_password(new), self.clock()))
            await self.audit(
                session,
                "users.password_changed",
                actor_id=user.id,
                actor_ip=principal.client_ip,
                target_type="user",
                target_id=user.id,
            )
