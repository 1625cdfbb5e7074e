"""Core's command groups and their help, for ``crmkit --help`` without
importing ``crmkit.core.commands`` (tests/test_russian_sweep.py checks that
each is its group's docstring)."""

GROUPS = {
    "partner": "Partners: holdings, store networks and their history.",
    "interaction": "Log interactions: calls, meetings, emails, SMS.",
    "task": "Tasks: mine, done, stop, continue.",
    "reminder": "Reminders.",
    "calendar": "iCalendar feeds: meetings, planned interactions, task deadlines, events.",
    "segment": "Segments of partners and products.",
    "user": "Users, roles, access groups (administrators only) and API tokens.",
    "privacy": "Personal data: erasure and subject access export.",
    "rates": "Exchange rates: load a day's rates from a provider (files go through `crmkit import core.currency_rate`).",
}
