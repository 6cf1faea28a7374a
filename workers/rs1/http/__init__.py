"""Runtime-independent HTTP plumbing: messages, errors, routing and the app wrapper."""

from rs1.http.errors import ApiError
from rs1.http.router import Router
from rs1.messages import ApiRequest, ApiResponse, json_response

__all__ = ["ApiError", "ApiRequest", "ApiResponse", "Router", "json_response"]
