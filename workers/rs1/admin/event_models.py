"""What the outbound-events admin API answers (OpenAPI response models)."""

from typing import Any, Literal

from rs1.admin.models import Open


class Endpoint(Open):
    endpoint_id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_by: str
    created_at: str


class CreatedEndpoint(Endpoint):
    secret: str  # shown once: whsec_…


class Endpoints(Open):
    endpoints: list[Endpoint]


class Event(Open):
    id: str
    type: str
    created_at: str
    data: dict[str, Any]


class EventPage(Open):
    events: list[Event]
    next_cursor: str | None


class Delivery(Open):
    delivery_id: str
    event_id: str
    endpoint_id: str
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: str | None
    last_attempt_at: str | None
    last_status: int | None
    last_error: str | None
    delivered_at: str | None


class DeliveryPage(Open):
    deliveries: list[Delivery]
    next_cursor: str | None


class Attempt(Open):
    attempt: int
    at: str
    status: int | None
    error: str | None
    duration_ms: int


class Attempts(Open):
    attempts: list[Attempt]


class Redelivered(Open):
    event_id: str
    deliveries: list[str]
