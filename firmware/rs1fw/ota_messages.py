"""The OTA contract with the cloud: the Workers' models (rs1.ota.messages)."""

from rs1.ota.messages import CancelOrder, InstallOffer, OtaError, RolloutId, Status, StatusReport

__all__ = ["CancelOrder", "InstallOffer", "OtaError", "RolloutId", "Status", "StatusReport"]
