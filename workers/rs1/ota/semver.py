"""Semantic versions (MAJOR.MINOR.PATCH[-prerelease]) and their precedence.

One implementation for the Workers and the device side (firmware/rs1fw imports it).
"""

import re
from dataclasses import dataclass
from functools import total_ordering

_SEMVER = re.compile(
    r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


class InvalidVersion(ValueError):
    pass


def _identifier_key(part: str) -> tuple[int, int, str]:
    # Numeric identifiers sort numerically and before alphanumeric ones (semver 11.4).
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "Version":
        match = _SEMVER.match(text) if isinstance(text, str) else None
        if not match:
            raise InvalidVersion(f"not a semantic version: {text!r}")
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else ())

    def _key(self) -> tuple:
        # A release sorts after all of its prereleases.
        pre = (1,) if not self.prerelease else (0, *map(_identifier_key, self.prerelease))
        return (self.major, self.minor, self.patch, pre)

    def __lt__(self, other: "Version") -> bool:
        return self._key() < other._key()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core


def is_version(text: str) -> bool:
    return isinstance(text, str) and bool(_SEMVER.match(text))
