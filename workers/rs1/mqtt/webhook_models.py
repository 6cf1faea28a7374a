"""Bodies EMQX 5 sends to the webhooks (HTTP authn/authz and rule-engine actions).

Templated authn/authz values may arrive as strings ("1", "false"); pydantic's lax mode
coerces them. Unknown fields are ignored: EMQX adds fields across versions.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_FIELD = 256
# Epoch milliseconds, bounded: D1 refuses Python ints beyond 2**53 (they cross as BigInt).
Millis = Annotated[int, Field(ge=0, le=10**13)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=4096)


class AuthRequest(_Lenient):
    username: str = ""
    password: str = ""
    clientid: str = ""
    peerhost: str = ""


class AclRequest(_Lenient):
    username: str = ""
    clientid: str = ""
    topic: str = ""
    action: str = ""
    qos: int = Field(default=0, ge=0, le=2)
    retain: bool = False


class PublishEnvelope(_Lenient):
    """Rule output of `SELECT * FROM "opticworks/+/..."` for message.publish."""

    id: str = ""
    clientid: str
    username: str
    topic: str
    payload: str  # the raw payload as a string: JSON payloads are parsed again
    qos: int = 0
    timestamp: Millis
    publish_received_at: Millis | None = None
    peerhost: str = ""


class ClientEvent(_Lenient):
    """`$events/client_connected` / `$events/client_disconnected` rule output."""

    event: str = ""
    clientid: str
    username: str = ""
    timestamp: Millis
    connected_at: Millis | None = None
    disconnected_at: Millis | None = None
    reason: str = ""
