"""Who acted, when no person did: the one rule for the actor of work a service does on its own
(schedulers, time-driven rules). Every such event and audit entry names `system:<service>`, so the
audit trail never shows an empty "who"."""

from __future__ import annotations

from typing import Protocol


class Caller(Protocol):
    """Who called: a principal (salesgrid_common.auth.principal.Principal) or anything with its id."""

    @property
    def subject_id(self) -> str: ...


SYSTEM_PREFIX = "system:"


def system_actor(service: str) -> str:
    """The actor id of service `service`'s own automation, e.g. ``system:pipeline``."""
    name = service.strip().lower()
    if not name or any(ch.isspace() or ch == ":" for ch in name):
        raise ValueError(f"a service name such as 'pipeline' is needed, got {service!r}")
    return f"{SYSTEM_PREFIX}{name}"


def is_system_actor(actor_id: str) -> bool:
    return actor_id.startswith(SYSTEM_PREFIX)


def actor_of(principal: Caller | None, service: str) -> tuple[str, str]:
    """(actor id, client ip) for an event: the calling principal's, or the service's own when
    `principal` is None (its scheduler acted)."""
    if principal is None:
        return system_actor(service), ""
    return principal.subject_id, getattr(principal, "client_ip", "") or ""
