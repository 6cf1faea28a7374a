"""EMQX's HTTP connector, one request as it runs it (emqx_bridge_http_connector.erl, e5.10.4).

- transform_result (:903-946): 2xx is success; 429 and 503 are recoverable; any other status
  is unrecoverable; econnrefused, timeout, closed/closing (and `normal`) are recoverable;
  any other transport error stays a plain error, which the buffer worker treats as
  unrecoverable (emqx_resource_buffer_worker.erl:2379).
- First send (on_query_async, :494 max_attempts 3; maybe_retry :948-986): an error other
  than an unrecoverable *status* is resent at once, no delay, up to 3 attempts in all.
- Buffer-worker retry (on_query, Retry = 2, into ehttpc:request/5): a transport error is
  resent at once up to 3 attempts; an HTTP status comes back after one.
Every attempt's timeout is the action's resource_opts.request_ttl (:277-285).
"""

import asyncio
from dataclasses import dataclass

import httpx

from rs1broker.metrics import ActionMetrics
from rs1broker.settings import ActionSpec
from rs1broker.webhook_client import WebhookClient

ATTEMPTS = 3
RECOVERABLE_STATUSES = frozenset({429, 503})
RECOVERABLE_ERRORS = frozenset({"econnrefused", "timeout", "closed"})


@dataclass(frozen=True)
class Outcome:
    kind: str  # the HTTP status as a string, or the transport error kind
    status: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def recoverable(self) -> bool:
        if self.status is not None:
            return self.status in RECOVERABLE_STATUSES
        return self.kind in RECOVERABLE_ERRORS

    @property
    def reason(self) -> str:
        """For the ledger: "http_500", "econnrefused", ..."""
        return f"http_{self.kind}" if self.status is not None else self.kind


def classify(status: int) -> str:
    """ "success", "retry" or "drop": what EMQX does with an HTTP status."""
    outcome = Outcome(str(status), status)
    return "success" if outcome.ok else "retry" if outcome.recoverable else "drop"


def error_kind(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "econnrefused"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "closed"  # the peer closed the connection before answering
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "econnreset"
    return "error"


class Connector:
    """`pool` is the connector's (shared by its actions): requests beyond pool_size wait, as
    they would in EMQX's pipelines, instead of all reaching the Workers at once."""

    def __init__(
        self,
        client: WebhookClient,
        spec: ActionSpec,
        metrics: ActionMetrics,
        pool: asyncio.Semaphore | None = None,
    ) -> None:
        self._client = client
        self._spec = spec
        self._metrics = metrics
        self._pool = pool or asyncio.Semaphore(spec.pool_size)

    async def send_async(self, body: bytes) -> Outcome:
        """The first send: up to 3 attempts unless an unrecoverable status answers."""
        outcome = Outcome("error")
        for _ in range(ATTEMPTS):
            outcome = await self._attempt(body)
            if outcome.ok or (outcome.status is not None and not outcome.recoverable):
                return outcome
        return outcome

    async def send_sync(self, body: bytes) -> Outcome:
        """A buffer-worker retry: transport errors resent up to 3 attempts, a status returned."""
        outcome = Outcome("error")
        for _ in range(ATTEMPTS):
            outcome = await self._attempt(body)
            if outcome.status is not None:
                return outcome
        return outcome

    async def _attempt(self, body: bytes) -> Outcome:
        spec = self._spec
        try:
            async with self._pool:
                reply = await self._client.send(
                    spec.method,
                    spec.url,
                    spec.headers,
                    body,
                    (spec.connect_timeout, spec.request_ttl),
                )
            outcome = Outcome(str(reply.status), reply.status)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            outcome = Outcome(error_kind(exc))
        self._metrics.replies[outcome.kind] += 1
        return outcome
