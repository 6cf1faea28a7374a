"""What a route's auth check hands its handler."""

from dataclasses import dataclass

from rs1.identity.tokens import Claims


@dataclass(frozen=True)
class Caller:
    """A user with a live session; on device routes also their role on that device
    ('admin', 'owner' or 'viewer')."""

    claims: Claims
    device_role: str | None = None

    @property
    def sub(self) -> str:
        return self.claims.sub


@dataclass(frozen=True)
class DeviceCaller:
    """A device that presented its own credentials (the `device` auth kind)."""

    device_id: str
