"""The read half of the customer store's mapping: a `customers` row (its CUSTOMER_COLUMNS values, a
Core row or a driver row of `salesgrid_common.driver_rows`) into the domain Customer. The write half,
`customer_to_row`, is in `stores.customers`; the mapper tests compare a round trip field by field."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from salesgrid_common import orgpaths
from salesgrid_common.db import loaded_values
from salesgrid_customers import models
from salesgrid_customers.domain.customer import Address, Contact, Customer, GeoPoint, PartnerProfile, Tier

Row = models.Customer
CUSTOMERS = models.Customer.__table__

_c = CUSTOMERS.c
_KEYS = (  # every column, in the order customer_from_record unpacks them
    "id legal_name normalised_name created_at owner_id org_path credit_code industry address_text latitude "
    "longitude tier tags source version created_by updated_at active previous_owner_id assigned_at released_at "
    "partner_channel partner_tier partner_contract_id custom_fields"
).split()
# The hot reads select these with SQLAlchemy Core or through the driver (a row is a tuple; loading
# ORM instances cost more than the query).
CUSTOMER_COLUMNS = tuple(_c[key] for key in _KEYS)
_TIERS = {tier.value: tier for tier in Tier}

T = TypeVar("T")
_new = object.__new__
_set = object.__setattr__


def _trusted(cls: type[T], **fields: Any) -> T:
    """An instance of a frozen dataclass from every one of its fields, without its __init__ (the
    mapper test compares a round trip field by field, so a field left out fails there)."""
    instance = _new(cls)
    instance.__dict__.update(fields)
    return instance


_NO_PARTNER = _trusted(PartnerProfile, channel="", tier="", contract_id="")  # frozen: one for all

# Org paths are few (one per unit): their segments are computed once each.
_unit_path = lru_cache(maxsize=4096)(orgpaths.segments)


def customer_from_record(record: Sequence[Any], contacts: Sequence[Contact] = ()) -> Customer:
    """The stored customer from its CUSTOMER_COLUMNS values (trusted: the rules ran when it was
    written). A page maps many of these per request, so this skips what costs and checks nothing
    here: the frozen dataclass's __init__ and per-field __setattr__ (its fields are set as one
    dict, as _trusted does, without building keyword arguments first)."""
    (
        id_,
        legal_name,
        normalised_name,
        created_at,
        owner_id,
        org_path,
        credit_code,
        industry,
        address_text,
        latitude,
        longitude,
        tier,
        tags,
        source,
        version,
        created_by,
        updated_at,
        active,
        previous_owner_id,
        assigned_at,
        released_at,
        partner_channel,
        partner_tier,
        partner_contract_id,
        custom_fields,
    ) = record
    if address_text:
        point = GeoPoint(latitude, longitude) if latitude is not None and longitude is not None else None
        address: Address | None = Address(address_text, point)
    else:
        address = None
    customer = _new(Customer)
    _set(
        customer,
        "__dict__",
        {
            "id": id_,
            "legal_name": legal_name,
            "normalised_name": normalised_name,
            "created_at": created_at,
            "owner_id": owner_id,
            "owner_unit_path": _unit_path(org_path),
            "credit_code": credit_code,
            "industry": industry,
            "address": address,
            "tier": _TIERS[tier],
            "tags": tuple(tags),
            "source": source,
            "contacts": tuple(contacts),
            "version": version,
            "org_path": org_path,
            "created_by": created_by,
            "updated_at": updated_at,
            "active": active,
            "previous_owner_id": previous_owner_id,
            "assigned_at": assigned_at,
            "released_at": released_at,
            "partner": _trusted(
                PartnerProfile,
                channel=partner_channel or "",
                tier=partner_tier or "",
                contract_id=partner_contract_id or "",
            )
            if partner_channel or partner_tier or partner_contract_id
            else _NO_PARTNER,
            "custom_fields": dict(custom_fields) if custom_fields else {},
        },
    )
    return customer


def customer_from_row(row: Row, contacts: Sequence[Contact] = ()) -> Customer:
    """The customer of a loaded ORM row (read from its instance state: loaded_values)."""
    values = loaded_values(row)
    return customer_from_record([values[key] for key in _KEYS], contacts)
