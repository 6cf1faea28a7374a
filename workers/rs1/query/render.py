"""A query AST back to text that parses to the same AST (tests, and what the API echoes)."""

import re

from rs1.query.parser import KEYWORDS, Atom, Bool, Node, Not

_BARE = re.compile(r"[A-Za-z0-9_.:/+-]+")


def _value(text: str) -> str:
    if _BARE.fullmatch(text) and text.lower() not in KEYWORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'  # the parser's escapes


def _duration(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms // 1000}s"


def render(node: Node) -> str:
    if isinstance(node, Not):
        return f"not ({render(node.item)})"
    if isinstance(node, Bool):
        return f" {node.op} ".join(f"({render(item)})" for item in node.items)
    return _atom(node)


def _atom(a: Atom) -> str:
    if a.field == "online":
        return "online" if a.op == "=" else "offline"
    if a.field == "tag":
        head = f"tag:{a.key}"
        if a.op == "has":
            return head
        if a.op == "in":
            return f"{head} in ({', '.join(_value(v) for v in a.value)})"  # type: ignore[union-attr]
        return f"{head} {a.op} {_value(str(a.value))}"
    if a.field == "seen":
        return f"seen {a.op} {_duration(int(a.value))}"  # type: ignore[arg-type]
    return f"{a.field} {a.op} {_value(str(a.value))}"
