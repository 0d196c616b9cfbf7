"""What is waiting for the user's role, shown on the home page: a small registry that
features add their counts to (drafts to validate now; receptions waiting and failed runs
with the connectors, health findings with the consultant tools).

A feature registers once, at import time::

    register_waiting("failed_runs", roles=PARAMETER_WRITERS, count=count_failed_runs,
                     label=lambda n: ngettext("%(num)s failed run", "%(num)s failed runs", n),
                     url=lambda: url_for("runs.index_view", state="failed"))

``count(tenant_id)`` returns how many rows wait (0: nothing is shown), ``label(count)`` the
sentence, ``url()`` the screen where they are handled.
"""
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Waiting:
    key: str
    roles: frozenset
    count: Callable[[int], int]
    label: Callable[[int], str]
    url: Callable[[], str]


@dataclass(frozen=True)
class WaitingLine:
    key: str
    count: int
    text: str
    url: str


_REGISTRY: dict[str, Waiting] = {}


def register_waiting(key: str, roles, count, label, url) -> None:
    """Add (or replace, by ``key``) one kind of thing waiting for ``roles``."""
    _REGISTRY[key] = Waiting(key, frozenset(roles), count, label, url)


def waiting_for(role: str | None, tenant_id: int | None) -> list[WaitingLine]:
    """The things waiting for this role in this dossier, in the order they were registered."""
    if role is None or tenant_id is None:
        return []
    lines = []
    for item in _REGISTRY.values():
        if role not in item.roles:
            continue
        count = item.count(tenant_id)
        if count:
            lines.append(WaitingLine(item.key, count, str(item.label(count)), item.url()))
    return lines
