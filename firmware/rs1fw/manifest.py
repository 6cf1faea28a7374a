"""The signed-firmware manifest model: the Workers' definition (rs1.ota.manifest)."""

from rs1.ota.manifest import MODEL_PATTERN, SHA256_PATTERN, Manifest, SemVer

__all__ = ["MODEL_PATTERN", "SHA256_PATTERN", "Manifest", "SemVer"]
