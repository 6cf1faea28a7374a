"""Semantic versions: the Workers' implementation (rs1.ota.semver), shared with devices."""

from rs1.ota.semver import (
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
