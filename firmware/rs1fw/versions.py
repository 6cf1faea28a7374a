"""Semantic versions: the device contract (rs1contract.semver), shared with the Workers."""

from rs1contract.semver import (
    MAX_LENGTH,
    SEMVER_PATTERN,
    Version,
    compare_versions,
    is_version,
    parse_version,
)

__all__ = [
    "MAX_LENGTH",
    "SEMVER_PATTERN",
    "Version",
    "compare_versions",
    "is_version",
    "parse_version",
]
