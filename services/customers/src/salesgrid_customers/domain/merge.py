"""Merging duplicate customers into one survivor.

The survivor keeps: its id, legal name and owner; every contact of every record (one primary:
the survivor's, else the first duplicate's); the union of tags (survivor's first, capped at
MAX_TAGS, the overflow reported); the earliest created_at; the highest tier; the credit code and
any empty optional field filled from the duplicates. Owners of merged records who differ from
the survivor's owner become collaborators so they still see their history; existing shares are
united (co_owner beats collaborator). Activities and opportunities are re-pointed by the caller
from `merged_ids` to `survivor_id`; `expected_versions` feeds the optimistic checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .access import Actor, is_owner_or_manager
from .customer import MAX_TAGS, Contact, Customer
from .errors import FailedPrecondition, PermissionDenied, ValidationFailed
from .sharing import Share, ShareRole

MAX_MERGE = 20


@dataclass(frozen=True)
class MergePlan:
    survivor_id: str
    merged_ids: tuple[str, ...]
    expected_versions: Mapping[str, int]
    survivor: Customer  # the survivor as it must be stored (version not yet bumped)
    shares: tuple[Share, ...]
    dropped_tags: tuple[str, ...]


def _check_inputs(survivor: Customer, duplicates: Sequence[Customer]) -> None:
    if not duplicates:
        raise ValidationFailed("at least one duplicate to merge is required", "duplicate_ids")
    if len(duplicates) > MAX_MERGE:
        raise ValidationFailed(f"at most {MAX_MERGE} customers per merge", "duplicate_ids")
    ids = [d.id for d in duplicates]
    if survivor.id in ids:
        raise ValidationFailed("a customer cannot be merged into itself", "duplicate_ids")
    if len(set(ids)) != len(ids):
        raise ValidationFailed("duplicate ids must be unique", "duplicate_ids")
    codes = {c.credit_code for c in (survivor, *duplicates) if c.credit_code}
    if len(codes) > 1:
        raise FailedPrecondition(
            f"records carry different credit codes ({', '.join(sorted(codes))}): not the same company",
            "credit_code",
        )


def _check_permission(survivor: Customer, duplicates: Sequence[Customer], actor: Actor) -> None:
    """Every involved record must be the actor's own or in his managed subtree; for a
    cross-owner merge that means a manager over all owners. Pool records must be claimed first
    (nobody's permission covers them)."""
    for record in (survivor, *duplicates):
        if record.owner_id is None:
            raise FailedPrecondition(
                f"customer {record.id} is in the public pool: claim it before merging",
                "duplicate_ids" if record is not survivor else "survivor_id",
            )
        if not is_owner_or_manager(actor, record.owner_id, record.owner_unit_path):
            raise PermissionDenied(
                f"not allowed to merge customer {record.id} (owner {record.owner_id or 'public pool'})",
                "duplicate_ids" if record is not survivor else "survivor_id",
            )


def _merge_contacts(records: Sequence[Customer]) -> tuple[Contact, ...]:
    contacts: list[Contact] = []
    seen: set[str] = set()
    primary_taken = False
    for record in records:
        for contact in record.contacts:
            if contact.id in seen:
                continue
            seen.add(contact.id)
            keep_primary = contact.primary and not primary_taken
            primary_taken = primary_taken or keep_primary
            contacts.append(replace(contact, primary=keep_primary))
    return tuple(contacts)


def _merge_shares(
    survivor: Customer, duplicates: Sequence[Customer], shares: Mapping[str, Sequence[Share]]
) -> tuple[Share, ...]:
    roles: dict[str, ShareRole] = {}

    def grant(user_id: str, role: ShareRole) -> None:
        if user_id == survivor.owner_id:
            return
        if roles.get(user_id) is not ShareRole.CO_OWNER:
            roles[user_id] = role

    for record in (survivor, *duplicates):
        for share in shares.get(record.id, ()):
            grant(share.user_id, share.role)
    for record in duplicates:
        if record.owner_id is not None:
            grant(record.owner_id, ShareRole.COLLABORATOR)
    return tuple(Share(user, role) for user, role in roles.items())


def plan_merge(
    survivor: Customer,
    duplicates: Sequence[Customer],
    actor: Actor,
    shares: Mapping[str, Sequence[Share]] | None = None,
) -> MergePlan:
    _check_inputs(survivor, duplicates)
    _check_permission(survivor, duplicates, actor)
    records = (survivor, *duplicates)

    tags: list[str] = []
    for record in records:
        tags.extend(t for t in record.tags if t not in tags)

    created_at: datetime = min(r.created_at for r in records)
    merged = replace(
        survivor,
        contacts=_merge_contacts(records),
        tags=tuple(tags[:MAX_TAGS]),
        created_at=created_at,
        tier=max((r.tier for r in records), key=lambda t: t.rank),
        # Empty survivor fields are filled from the first duplicate that has them.
        credit_code=next((r.credit_code for r in records if r.credit_code), None),
        industry=next((r.industry for r in records if r.industry), None),
        address=next((r.address for r in records if r.address), None),
        source=next((r.source for r in records if r.source), None),
    )
    return MergePlan(
        survivor_id=survivor.id,
        merged_ids=tuple(d.id for d in duplicates),
        expected_versions={r.id: r.version for r in records},
        survivor=merged,
        shares=_merge_shares(survivor, duplicates, shares or {}),
        dropped_tags=tuple(tags[MAX_TAGS:]),
    )
