# `pyodide` is built into the Pyodide runtime (not installable into the CPython venv the checker
# reads). Known-missing: every name is Any.
from typing import Any

def __getattr__(name: str) -> Any: ...
