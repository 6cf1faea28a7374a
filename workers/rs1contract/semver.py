"""Semantic versions ("1.2.3", "1.2.3-rc.1") and their precedence (semver.org §11).

One implementation for the Workers and the device side (firmware/rs1fw re-exports it).

Build metadata ("+sha.abc") is rejected rather than ignored: firmware versions are compared
for downgrade protection, and two distinct strings that compare equal would be a trap.
"""

import re
from dataclasses import dataclass
from functools import total_ordering

MAX_LENGTH = 32  # the devices table and the state payload store at most 32 characters

_NUMBER = r"0|[1-9][0-9]*"
_IDENT = rf"(?:{_NUMBER}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_CORE = rf"({_NUMBER})\.({_NUMBER})\.({_NUMBER})(?:-({_IDENT}(?:\.{_IDENT})*))?"
_PATTERN = re.compile(_CORE)

SEMVER_PATTERN = rf"^{_CORE}$"  # for pydantic Field(pattern=...)

Identifier = int | str


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[Identifier, ...] = ()

    def _key(self) -> tuple[int, int, int, tuple[object, ...]]:
        # A release sorts after every prerelease of the same triple; numeric identifiers
        # sort before alphanumeric ones; a shorter identifier list sorts first (tuple order).
        if not self.prerelease:
            return (self.major, self.minor, self.patch, (1,))
        idents = tuple((0, i) if isinstance(i, int) else (1, i) for i in self.prerelease)
        return (self.major, self.minor, self.patch, (0, idents))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: "Version") -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(map(str, self.prerelease))}" if self.prerelease else core


def parse_version(text: str) -> Version:
    """Parse "MAJOR.MINOR.PATCH[-prerelease]"; ValueError when it is not one."""
    match = _PATTERN.fullmatch(text) if len(text) <= MAX_LENGTH else None
    if match is None:
        raise ValueError(f"not a semantic version: {text!r}")
    major, minor, patch, pre = match.groups()
    idents = tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else ()
    return Version(int(major), int(minor), int(patch), idents)


def is_version(text: str) -> bool:
    try:
        parse_version(text)
    except ValueError:
        return False
    return True


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as a sorts before, equal to, or after b."""
    va, vb = parse_version(a), parse_version(b)
    return (va > vb) - (va < vb)
