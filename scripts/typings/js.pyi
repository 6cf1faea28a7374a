# `js` is Pyodide's view of the JavaScript global scope (WebSocketPair, Response, ...): it exists
# only inside workerd and no typed distribution of it exists. Known-missing: every name is Any.
from typing import Any

def __getattr__(name: str) -> Any: ...
