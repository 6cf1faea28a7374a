# `pyodide.ffi` (JsProxy, create_proxy, ...) is built into the Pyodide runtime: see __init__.pyi.
from typing import Any

def __getattr__(name: str) -> Any: ...
