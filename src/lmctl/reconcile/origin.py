"""Which box a saved plan was made for: each appliance's URL, recorded without credentials.

A plan names appliances; the inventory maps names to URLs. If an appliance's URL changes between
``plan --out`` and ``apply PLANFILE``, the plan's writes (planned against the old box's state)
must not go to the new one, so the plan records each URL and apply compares it.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from lmctl.reconcile.plan import Plan


def public_url(url: str) -> str:
    """``url`` without user name, password, query or fragment (nothing secret goes in a plan)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def with_urls(plan: Plan, urls: Mapping[str, str]) -> Plan:
    """The plan with each appliance's URL (as ``public_url``) recorded."""
    appliances = tuple(
        a.model_copy(update={"url": public_url(urls[a.name])}) if a.name in urls else a
        for a in plan.appliances
    )
    return plan.model_copy(update={"appliances": appliances})


def moved_appliances(plan: Plan, urls: Mapping[str, str]) -> list[str]:
    """Why each appliance of a saved plan may not be written through ``urls`` (the inventory's
    URLs now): its URL changed, or the plan recorded none."""
    problems = []
    for appliance in plan.appliances:
        now = public_url(urls[appliance.name]) if appliance.name in urls else None
        if appliance.url is None:
            problems.append(
                f"{appliance.name}: the plan records no URL for it (made by an older lmctl)"
            )
        elif now != appliance.url:
            problems.append(
                f"{appliance.name}: the plan was made for {appliance.url}, the inventory now "
                f"says {now or 'nothing'}"
            )
    return problems
