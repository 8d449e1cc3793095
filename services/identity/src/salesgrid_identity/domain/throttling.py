"""Login throttling by source address (OWASP authentication guidance).

Per-account lockout (domain/lockout.py) protects one account from guessing. An address is
different: an office behind one NAT shares it, so refusing every login from a "bad" address lets
one mistyped script lock out a whole branch. The rules here therefore never refuse a correct
password of an account that has not failed from that address:

- below `max_failures_per_address` failures in the window nothing happens;
- past it the address is *throttled*: every further failed attempt from it is answered after a
  growing delay (slowing password spraying, which tries each account once), and a login that
  already failed `max_failures_per_pair` times from this address is turned away before its
  password is checked (a script repeating one login costs no hashing);
- the refusal depends only on (address, login) history, never on whether the account exists,
  so it reveals nothing about which logins are real.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures_per_address: int = 20
    max_failures_per_pair: int = 3  # per (address, login) while the address is throttled
    window: timedelta = timedelta(minutes=15)  # failures older than this are forgotten
    delay_step: timedelta = timedelta(milliseconds=250)  # added per failure past the address limit
    max_delay: timedelta = timedelta(seconds=2)


@dataclass(frozen=True)
class AddressHistory:
    """Failures recorded from one address within the window."""

    address_failures: int
    pair_failures: int  # of them, for the login being tried
    oldest_pair_failure: datetime | None = None


def throttled(address_failures: int, policy: ThrottlePolicy) -> bool:
    return address_failures >= policy.max_failures_per_address


def refuse_before_check(history: AddressHistory, policy: ThrottlePolicy) -> bool:
    """True when this attempt is refused without looking at the password. An account that has
    not failed from this address has no pair failures, so its correct password always passes."""
    return throttled(history.address_failures, policy) and history.pair_failures >= policy.max_failures_per_pair


def retry_after(history: AddressHistory, policy: ThrottlePolicy, now: datetime) -> timedelta:
    """How long until the pair's oldest failure leaves the window (at least one second)."""
    if history.oldest_pair_failure is None:
        return policy.window
    return max(timedelta(seconds=1), history.oldest_pair_failure + policy.window - now)


def failure_delay(address_failures: int, policy: ThrottlePolicy) -> timedelta:
    """The pause before answering a failed attempt; `address_failures` counts this one too.
    Zero until the address is throttled, then one step more per failure, capped."""
    excess = address_failures - policy.max_failures_per_address + 1
    if excess <= 0:
        return timedelta(0)
    return min(policy.delay_step * excess, policy.max_delay)


def throttled_until(newest_failure: datetime, policy: ThrottlePolicy) -> datetime:
    """An address stays throttled at most until its newest failure leaves the window."""
    return newest_failure + policy.window


@dataclass(frozen=True)
class LoginFailure:
    """One failed login, recorded by source address (the address's throttle counts these)."""

    id: str
    client_ip: str
    login: str
    at: datetime


@dataclass(frozen=True)
class AddressFailures:
    """An address's failures in the window: how many, for how many logins, and the newest."""

    address: str
    failures: int
    logins: int
    newest: datetime
