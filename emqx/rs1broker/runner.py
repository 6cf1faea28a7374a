"""Start and stop the whole local broker: MQTT listener, HTTP API, authn/authz, rule actions.

- `BrokerService`: async, for code already in an event loop (the CLI).
- `LocalBroker`: runs a BrokerService on its own thread and event loop, for synchronous
  code (pytest fixtures, the demo launcher):

      with LocalBroker(load_settings(), mqtt_port=0, api_port=0) as broker:
          ...  # broker.mqtt_port, broker.api_url
"""

import asyncio
import os
import threading
from concurrent.futures import Future

from rs1broker.actions import ActionDispatcher
from rs1broker.api_keys import ApiKeys
from rs1broker.authn import HttpAuthenticator
from rs1broker.authz import HttpAuthorizer
from rs1broker.broker import CompatBroker
from rs1broker.http_api import ApiServer, build_app
from rs1broker.ledger import Ledger
from rs1broker.metrics import MetricsRegistry
from rs1broker.metrics_view import MetricsView
from rs1broker.rule_engine import RuleEngine
from rs1broker.settings import BrokerSettings
from rs1broker.webhook_client import WebhookClient

API_KEY_ENV = "EMQX_API_KEY"
DRAIN_SECONDS = 2.0


class BrokerService:
    def __init__(
        self,
        settings: BrokerSettings,
        host: str = "127.0.0.1",
        mqtt_port: int = 1883,
        api_port: int = 18083,
        api_keys: ApiKeys | None = None,
    ) -> None:
        self.settings = settings
        self.host = host
        self.mqtt_port = mqtt_port
        self.api_port = api_port
        self.api_keys = api_keys or ApiKeys.load(os.environ.get(API_KEY_ENV), settings.api_key_file)
        self._client: WebhookClient | None = None
        self._dispatcher: ActionDispatcher | None = None
        self._ledger = Ledger(None)
        self.metrics = MetricsRegistry(list(settings.actions), [r.rule_id for r in settings.rules])
        self._broker: CompatBroker | None = None
        self._api: ApiServer | None = None

    async def start(self) -> None:
        """Listen for MQTT and HTTP; mqtt_port/api_port then hold the bound ports."""
        s = self.settings
        self._ledger = Ledger(s.ledger_file)
        self._client = WebhookClient(max_connections=256)
        self._dispatcher = ActionDispatcher(
            self._client, s.actions.values(), self.metrics, self._ledger, s.reorder_seed
        )
        self._dispatcher.start()
        rules = RuleEngine(s.rules, s.actions, self._dispatcher, s.node_name, self.metrics)
        broker = CompatBroker(
            host=self.host,
            port=self.mqtt_port,
            authn=HttpAuthenticator(s.authn, self._client),
            authz=HttpAuthorizer(s.authz, self._client),
            deny_action=s.authz.deny_action,
            rules=rules,
            node_metrics=self.metrics.node,
            ledger=self._ledger,
        )
        await broker.start()
        self._broker = broker  # only a started broker is shut down by stop()
        self.mqtt_port = broker.mqtt_port
        api = ApiServer(build_app(broker, self.api_keys, s.node_name, self.metrics_view))
        self.api_port = await api.start(self.host, self.api_port)
        self._api = api

    def metrics_view(self) -> MetricsView:
        return MetricsView(self.metrics, self._dispatcher, self.settings.node_name)

    async def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Stop listening, close every connection, give queued actions `drain_seconds`
        (what is left is lost, as EMQX's memory buffer is), close HTTP, and end the ledger
        with this life's counters."""
        if self._api is not None:
            await self._api.stop()
        if self._broker is not None:
            await self._broker.shutdown()
        if self._dispatcher is not None:
            await self._dispatcher.stop(drain_seconds)
            self._ledger.write("metrics", **self.metrics_view().final())
        if self._client is not None:
            await self._client.close()
        self._ledger.close()
        self._api = self._broker = self._dispatcher = self._client = None


class LocalBroker:
    def __init__(
        self,
        settings: BrokerSettings,
        host: str = "127.0.0.1",
        mqtt_port: int = 1883,
        api_port: int = 18083,
        api_keys: ApiKeys | None = None,
    ) -> None:
        self.service = BrokerService(settings, host, mqtt_port, api_port, api_keys)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.service.host

    @property
    def mqtt_port(self) -> int:
        return self.service.mqtt_port

    @property
    def api_port(self) -> int:
        return self.service.api_port

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    def start(self, wait_s: float = 10.0) -> "LocalBroker":
        """Returns once both listeners accept connections; start-up errors are raised here."""
        started: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="rs1broker", daemon=True
        )
        self._thread.start()
        started.result(timeout=wait_s)
        return self

    def stop(self, wait_s: float = 10.0) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(wait_s)
        self._thread = self._loop = None  # a second stop() is a no-op

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, started: "Future[None]") -> None:
        asyncio.run(self._serve(started))

    async def _serve(self, started: "Future[None]") -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        try:
            await self.service.start()
        except Exception as exc:  # noqa: BLE001 - raised again in the thread that called start()
            started.set_exception(exc)
            await self.service.stop()
            return
        started.set_result(None)
        await self._stopped.wait()
        await self.service.stop()
