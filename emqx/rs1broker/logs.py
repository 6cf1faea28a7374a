"""Log lines for people running the broker: concise, to stderr.

The broker's own logger ("rs1broker") writes one line per refused connection, denied
authorization and failed action. amqtt, transitions and httpx are chatty at INFO (every
connection, state change and HTTP call), so they only speak up on errors unless --log-level
debug asks for everything.
"""

import logging
import sys

NOISY = ("amqtt", "transitions", "httpx", "httpcore", "aiohttp.access")


def configure(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s rs1broker %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level.lower() != "debug":
        for name in NOISY:
            logging.getLogger(name).setLevel(logging.ERROR)
