"""Reading MQTT 3.1.1 result codes as paho 2 reports them (as v5-style ReasonCodes)."""

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode


def refusal_reason(exc: aiomqtt.MqttCodeError) -> str:
    """A refused CONNACK as a summary key, e.g. "not_authorized"."""
    name = str(exc.rc) if isinstance(exc.rc, ReasonCode) else f"code {exc.rc}"
    return name.lower().replace(" ", "_")


def error_reason(exc: BaseException) -> str:
    """A short, bounded key for why a connection failed or ended (the paho cause if any)."""
    return str(exc.__cause__ or exc)[:80] or type(exc).__name__


def is_failure(code: int | ReasonCode) -> bool:
    """A SUBACK entry of 0x80 means the broker refused that subscription."""
    return code.is_failure if isinstance(code, ReasonCode) else code >= 0x80
