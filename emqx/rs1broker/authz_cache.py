"""EMQX's per-client authorization cache: at most `max_size` entries per client, each kept
for `ttl` seconds, least recently used evicted first; dropped when the client disconnects."""

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class AuthzCache:
    def __init__(
        self, max_size: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_size = max_size
        self._ttl = ttl
        self._clock = clock
        self._clients: dict[str, OrderedDict[Hashable, tuple[float, Any]]] = {}

    def get(self, clientid: str, key: Hashable) -> Any:
        entries = self._clients.get(clientid)
        if entries is None or key not in entries:
            return None
        expires_at, answer = entries[key]
        if self._clock() >= expires_at:
            del entries[key]
            return None
        entries.move_to_end(key)
        return answer

    def put(self, clientid: str, key: Hashable, answer: Any) -> None:
        if self._max_size <= 0:
            return
        entries = self._clients.setdefault(clientid, OrderedDict())
        entries[key] = (self._clock() + self._ttl, answer)
        entries.move_to_end(key)
        while len(entries) > self._max_size:
            entries.popitem(last=False)

    def drop(self, clientid: str) -> None:
        self._clients.pop(clientid, None)
