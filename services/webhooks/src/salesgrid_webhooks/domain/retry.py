"""When a failed delivery is tried again: the Standard Webhooks / Svix schedule (5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 10 h after the first attempt, ~27.6 h in all), so an endpoint that is
down for a day still gets every message. After the last retry the delivery is `failed` and can be
redelivered by hand."""

from __future__ import annotations

DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
MIN_TOTAL_SECONDS = 24 * 3600


def parse_schedule(text: str) -> tuple[float, ...]:
    """Seconds, comma-separated (settings); empty: the default."""
    if not text.strip():
        return DEFAULT_SCHEDULE
    values = tuple(float(part) for part in text.split(","))
    if any(v <= 0 for v in values):
        raise ValueError("retry delays must be positive")
    return values


def covers_a_day(schedule: tuple[float, ...]) -> bool:
    return sum(schedule) >= MIN_TOTAL_SECONDS


def delay_after(attempts: int, schedule: tuple[float, ...]) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones; None: give up."""
    if attempts < 1 or attempts > len(schedule):
        return None
    return schedule[attempts - 1]
