"""Storage ports (D1-shaped database, KV, R2-shaped blobs) and their adapters.

`d1`, `kv` and `blobs` adapt the Workers bindings without importing the runtime: they only
call the binding objects they are given. `sqlite` and `memory` are CPython stand-ins used by
unit tests; integration tests run against Miniflare's real D1/KV/R2.
"""

from rs1.storage.database import Database, RunResult, Statement, StorageError

__all__ = ["Database", "RunResult", "Statement", "StorageError"]
