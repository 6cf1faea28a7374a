"""The OTA contract with the cloud, from the device contract (rs1contract.ota)."""

from rs1contract.ota import (
    CancelOrder,
    InstallOffer,
    InstallWindow,
    OtaError,
    RolloutId,
    Status,
    StatusReport,
)

__all__ = [
    "CancelOrder",
    "InstallOffer",
    "InstallWindow",
    "OtaError",
    "RolloutId",
    "Status",
    "StatusReport",
]
