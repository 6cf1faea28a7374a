"""rs1broker: the EMQX-compatible local broker for development and CI.

EMQX itself cannot be installed here, so this is amqtt (a real MQTT 3.1.1 broker from
PyPI) extended to honour the EMQX 5 contracts the Workers rely on — HTTP authentication,
HTTP authorization with its cache, rule-engine HTTP actions and client events, and the
publish/kick HTTP API — configured from the same emqx/emqx.conf production uses.
It is not EMQX; see emqx/README.md for the differences.
"""

from rs1broker.config_file import ConfigError
from rs1broker.runner import BrokerService, LocalBroker
from rs1broker.settings import BrokerSettings, load_settings

__all__ = ["BrokerService", "BrokerSettings", "ConfigError", "LocalBroker", "load_settings"]
