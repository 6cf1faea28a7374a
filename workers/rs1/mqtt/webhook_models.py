"""Bodies EMQX 5 sends to the webhooks (HTTP authn/authz and rule-engine actions).

Templated authn/authz values may arrive as strings ("1", "false"); pydantic's lax mode
coerces them. Unknown fields are ignored: EMQX adds fields across versions.
"""

from pydantic import BaseModel, ConfigDict, Field

MAX_FIELD = 256


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
    timestamp: int  # ms
    publish_received_at: int | None = None
    peerhost: str = ""


class ClientEvent(_Lenient):
    """`$events/client_connected` / `$events/client_disconnected` rule output."""

    event: str = ""
    clientid: str
    username: str = ""
    timestamp: int  # ms
    connected_at: int | None = None
    disconnected_at: int | None = None
    reason: str = ""
