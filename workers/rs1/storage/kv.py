"""Key-value port over a Workers KV binding."""

from typing import Any, Protocol

from rs1.storage.database import StorageError

KV_MIN_TTL = 60  # Workers KV refuses expirationTtl below 60 seconds


class KeyValue(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, ttl: int | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...


class KvStore:
    def __init__(self, binding: Any) -> None:
        self._binding = binding

    async def get(self, key: str) -> str | None:
        try:
            return await self._binding.get(key)
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        options = {"expirationTtl": max(KV_MIN_TTL, ttl)} if ttl else {}
        try:
            await self._binding.put(key, value, options)
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    async def delete(self, key: str) -> None:
        try:
            await self._binding.delete(key)
        except Exception as exc:
            raise StorageError(str(exc)) from exc
