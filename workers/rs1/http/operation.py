"""What a route says of itself in the OpenAPI document (rs1.http.openapi renders it)."""

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    where: Literal["query", "header"] = "query"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    response: type[BaseModel] | None = None  # None: an empty body
    status: int = 200
    binary_body: bool = False  # application/octet-stream (firmware images)
    params: tuple[Param, ...] = ()
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    also: dict[int, str] = field(default_factory=dict)  # other 2xx answers: status → why
    description: str = ""
