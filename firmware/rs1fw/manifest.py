"""The signed-firmware manifest model, from the device contract (rs1contract.manifest)."""

from rs1contract.manifest import MODEL_PATTERN, SHA256_PATTERN, Manifest, SemVer

__all__ = ["MODEL_PATTERN", "SHA256_PATTERN", "Manifest", "SemVer"]
