"""Blob port over an R2 binding."""

from dataclasses import dataclass, field
from typing import Any, Protocol

from rs1.storage.database import StorageError


@dataclass(frozen=True)
class BlobMeta:
    key: str
    size: int
    etag: str
    content_type: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class Blobs(Protocol):
    async def put(
        self, key: str, data: bytes, content_type: str = "", metadata: dict[str, str] | None = None
    ) -> BlobMeta: ...

    async def get_bytes(self, key: str) -> bytes | None: ...

    async def head(self, key: str) -> BlobMeta | None: ...

    async def delete(self, key: str) -> None: ...

    async def list_keys(self, prefix: str = "") -> list[str]: ...

    async def open(self, key: str, offset: int, length: int) -> Any | None:
        """A byte range as a runtime stream (never buffered in Python), or None."""
        ...


def _meta(obj: Any) -> BlobMeta:
    http = obj.httpMetadata or {}
    return BlobMeta(
        key=obj.key,
        size=int(obj.size),
        etag=obj.etag,
        content_type=http.get("contentType", "") if hasattr(http, "get") else "",
        metadata=dict(obj.customMetadata or {}),
    )


class R2Blobs:
    def __init__(self, binding: Any) -> None:
        self._binding = binding

    async def put(
        self, key: str, data: bytes, content_type: str = "", metadata: dict[str, str] | None = None
    ) -> BlobMeta:
        options: dict[str, Any] = {"customMetadata": dict(metadata or {})}
        if content_type:
            options["httpMetadata"] = {"contentType": content_type}
        try:
            return _meta(await self._binding.put(key, data, options))
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    async def get_bytes(self, key: str) -> bytes | None:
        try:
            obj = await self._binding.get(key)
            return None if obj is None else bytes(await obj.arrayBuffer())
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    async def head(self, key: str) -> BlobMeta | None:
        try:
            obj = await self._binding.head(key)
        except Exception as exc:
            raise StorageError(str(exc)) from exc
        return None if obj is None else _meta(obj)

    async def delete(self, key: str) -> None:
        try:
            await self._binding.delete(key)
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    async def open(self, key: str, offset: int, length: int) -> Any | None:
        try:
            obj = await self._binding.get(key, {"range": {"offset": offset, "length": length}})
        except Exception as exc:
            raise StorageError(str(exc)) from exc
        return None if obj is None else obj.body

    async def list_keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        cursor = None
        try:
            while True:
                options = {"prefix": prefix, **({"cursor": cursor} if cursor else {})}
                listed = await self._binding.list(options)
                keys += [o.key for o in listed["objects"]]
                if not listed["truncated"]:
                    return keys
                cursor = listed["cursor"]
        except Exception as exc:
            raise StorageError(str(exc)) from exc
