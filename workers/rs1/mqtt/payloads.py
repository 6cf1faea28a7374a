"""JSON payloads devices publish (inside the EMQX envelope's `payload` string)."""

from pydantic import BaseModel, ConfigDict, Field


class StatePayload(BaseModel):
    """opticworks/{id}/state"""

    model_config = ConfigDict(extra="ignore")

    online: bool = True
    firmware_version: str | None = Field(default=None, max_length=32)
    uptime_s: int | None = Field(default=None, ge=0)
    free_heap: int | None = Field(default=None, ge=0)
    rssi: int | None = Field(default=None, ge=-127, le=0)
    ip: str | None = Field(default=None, max_length=45)
