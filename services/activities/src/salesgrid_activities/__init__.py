"""Salesgrid activities service: follow-ups, visit check-ins, tasks and schedules, daily reports."""
