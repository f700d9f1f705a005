"""The server that ``drain`` and ``undrain`` act on: every spec that lists it, and how messages
name it.

Since Exchange 2013 one server may serve several namespaces (several specs list it, on one
appliance or on several), and on Exchange 2010 a multi-role CAS/Hub server may be a CAS member of
one array and an ``overrides.smtp.members`` entry of another. Taking the server out of one of
them only would leave it serving the others, so a server is located in every spec that lists it
(``--array`` restricts that to some of them).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lmctl.errors import LmctlError
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import normalised_address
from lmctl.statedir import DEFAULT_STATE_DIR
from lmctl.text import no_array_named


class UnknownMemberError(LmctlError, LookupError):
    """No array of the specs has a member with that name or address, or ``--array`` names an
    array the server is not a member of."""


@dataclass(frozen=True, slots=True)
class MemberRef:
    """The server as one spec lists it: its array, the appliance of that array, its name as
    that spec spells it, its address there."""

    appliance: str
    array: str
    member: str
    address: str


def listing(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass(frozen=True, slots=True)
class Server:
    """One server in every spec that lists it (spec order), and what the commands it suggests
    repeat of the command line: the ``--array`` names the command was restricted to, a
    ``--state-dir`` other than the default and the spec paths given (none: the default)."""

    members: tuple[MemberRef, ...]
    restricted: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    state_dir: str | None = None

    @property
    def name(self) -> str:
        """How the commands it suggests name it: as the specs do, or by its address when the
        specs spell its name differently (it was then found by its address)."""
        first = self.members[0]
        if all(ref.member.lower() == first.member.lower() for ref in self.members):
            return first.member
        return first.address

    @property
    def several(self) -> bool:
        """Listed in more than one spec: messages then name the array of every service."""
        return len(self.members) > 1

    @property
    def appliances(self) -> tuple[str, ...]:
        """The appliances involved, sorted: the order their apply locks are taken in, so two
        lmctl processes never wait on each other's locks in a circle."""
        return tuple(sorted({ref.appliance for ref in self.members}))

    def arrays_on(self) -> str:
        """``mail16 and autod16 on lm-hq`` (``mail on lm-hq and dr on lm-dr``)."""
        groups: dict[str, list[str]] = {}
        for ref in self.members:
            groups.setdefault(ref.appliance, []).append(ref.array)
        return listing(
            [f"{listing(arrays)} on {appliance}" for appliance, arrays in groups.items()]
        )

    def where(self) -> str:
        """``array two`` for one spec; every array and appliance for several."""
        return self.arrays_on() if self.several else f"array {self.members[0].array}"

    def command(self, action: str) -> str:
        """The command that repeats ``action`` on the same arrays, from the same specs and
        state directory, each word quoted for a POSIX shell where it needs it."""
        words = ["lmctl", action, self.name]
        for array in self.restricted:
            words += ["--array", array]
        if self.state_dir is not None:
            words += ["--state-dir", self.state_dir]
        if any(path.startswith("-") for path in self.paths):
            words.append("--")  # a path that reads as an option
        return shlex.join([*words, *self.paths])

    def prefix(self, ref: MemberRef) -> str:
        """What precedes a service's name in messages: nothing for one spec, ``mail16/`` for
        several (both namespaces have an ``https``)."""
        return f"{ref.array}/" if self.several else ""


def unfinished(server: Server, action: str) -> str:
    """How to finish an interrupted drain or undrain, or go back."""
    other = "undrain" if action == "drain" else "drain"
    return (
        f"the {action} of {server.name} ({server.where()}) may be unfinished; run "
        f"`{server.command(action)}` again to finish it (safe to repeat), or "
        f"`{server.command(other)}` to go back"
    )


def locate_server(
    desired: Iterable[DesiredVirtualService],
    name: str,
    arrays: Sequence[str] = (),
    *,
    paths: Sequence[str | Path] = (),
    state_dir: str | Path = DEFAULT_STATE_DIR,
) -> Server:
    """The server called ``name`` (case-insensitive, as Windows names are) or with that address
    (compared as an address: ``2001:DB8:0::11`` is ``2001:db8::11``, ``[::ffff:10.0.0.21]`` is
    ``10.0.0.21``), in every spec that lists it, or only in ``arrays`` when given. ``paths``
    (the spec paths given) and ``state_dir`` (when not the default) are repeated in the
    commands the server's messages suggest."""
    wanted = name.strip().lower()
    address = normalised_address(name.strip().strip("[]"))
    known: set[str] = set()
    every_array: set[str] = set()
    found: dict[tuple[str, str], MemberRef] = {}
    for service in desired:
        every_array.add(service.array)
        for real_server in service.member_servers:
            known.add(f"{real_server.member} ({service.array})")
            # Model addresses are normalised already (lmctl.loadmaster.models).
            if wanted == real_server.member.lower() or address == real_server.address:
                found.setdefault(
                    (service.appliance, service.array),
                    MemberRef(
                        appliance=service.appliance,
                        array=service.array,
                        member=real_server.member,
                        address=real_server.address,
                    ),
                )
    if not found:
        members = ", ".join(sorted(known)) or "none"
        raise UnknownMemberError(
            f"no array in the specs has a member named {name!r} (or with that address); "
            f"members: {members}"
        )
    restricted = tuple(dict.fromkeys(arrays))
    given = tuple(str(path) for path in paths)
    other_dir = None if Path(state_dir) == DEFAULT_STATE_DIR else str(state_dir)
    if not restricted:
        return Server(tuple(found.values()), paths=given, state_dir=other_dir)
    unknown = [array for array in restricted if array not in every_array]
    if unknown:
        raise UnknownMemberError(f"--array: {no_array_named(unknown, every_array)}")
    listed = [ref.array for ref in found.values()]
    outside = [array for array in restricted if array not in listed]
    if outside:
        raise UnknownMemberError(
            f"--array: {name!r} is not a member of {listing(outside)}; it is a member of "
            f"{listing(listed)}"
        )
    listed_refs = tuple(ref for ref in found.values() if ref.array in restricted)
    return Server(listed_refs, restricted, paths=given, state_dir=other_dir)
