"""Parse a cohort query into an AST.

    query   := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" query ")" | atom
    atom    := "online" | "offline"
             | "version" OP SEMVER          OP: = != < <= > >=
             | "model" (= | !=) VALUE
             | "tag:"KEY [(= | !=) VALUE | "in" "(" VALUE ("," VALUE)* ")"]
             | "seen" (< | >) DURATION       90s 10m 2h 7d
             | "rssi" OP INTEGER
             | "owner" (= | !=) VALUE
             | "config" (= | !=) (applied | pending | rejected | none)
             | "status" (= | !=) (active | revoked)
             | "id" (= | !=) DEVICE_ID

Keywords and field names are case-insensitive; VALUE is a bare word ([A-Za-z0-9_.:/+-]) or a
double-quoted string (\\" and \\\\ escapes). Every atom is true or false, never unknown: a
fact the device has not reported (no version, no RSSI, never seen) makes it false, so
`not (rssi > -75)` holds for a device without an RSSI.
"""

import re
from dataclasses import dataclass
from typing import Literal

from rs1contract.semver import parse_version

from rs1.errors import InvalidInput
from rs1.identity.device_id import is_device_id

MAX_LENGTH = 1024
MAX_ATOMS = 32
MAX_DEPTH = 16
MAX_IN = 16
MAX_DURATION_MS = 3650 * 86_400_000
TAG_KEY = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
COMPARE = ("=", "!=", "<", "<=", ">", ">=")
EQUALITY = ("=", "!=")
UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
CONFIG_STATES = ("applied", "pending", "rejected", "none")
STATUSES = ("active", "revoked")
KEYWORDS = ("and", "or", "not", "in")

_TOKEN = re.compile(
    r"\s*(?:(?P<punct>[(),])|(?P<op><=|>=|!=|=|<|>)|(?P<str>\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<word>[A-Za-z0-9_.:/+-]+))"
)


class QueryError(InvalidInput):
    """A query that does not parse: 400 invalid_query, naming where and what was expected."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at character {position + 1}.", code="invalid_query")
        self.position = position


Field = Literal["online", "version", "model", "tag", "seen", "rssi", "owner", "config",
                "status", "id"]  # fmt: skip


@dataclass(frozen=True)
class Atom:
    field: Field
    op: str = "="  # for `online`: "=" online, "!=" offline; `tag` without a value: "has"
    value: str | int | tuple[str, ...] | None = None
    key: str | None = None  # tag:KEY


@dataclass(frozen=True)
class Not:
    item: "Node"


@dataclass(frozen=True)
class Bool:
    op: Literal["and", "or"]
    items: tuple["Node", ...]


Node = Atom | Not | Bool


@dataclass(frozen=True)
class _Token:
    kind: str  # punct, op, str, word, end
    text: str
    at: int

    def word(self, *choices: str) -> bool:
        return self.kind == "word" and self.text.lower() in choices


def _tokens(text: str) -> list[_Token]:
    tokens, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if match is None:
            start = len(text) - len(text[at:].lstrip())
            raise QueryError(f"Unexpected character {text[start]!r}", start)
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        at = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.atoms = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, expected: str) -> QueryError:
        token = self.peek
        found = "the end" if token.kind == "end" else repr(token.text)
        return QueryError(f"Expected {expected}, found {found}", token.at)

    def expect(self, kind: str, text: str, expected: str) -> None:
        if self.peek.kind != kind or self.peek.text != text:
            raise self.fail(expected)
        self.take()

    def query(self, depth: int = 0) -> Node:
        return self.chain("or", lambda: self.chain("and", lambda: self.unary(depth)))

    def chain(self, op: Literal["and", "or"], item) -> Node:
        items = [item()]
        while self.peek.word(op):
            self.take()
            items.append(item())
        return items[0] if len(items) == 1 else Bool(op, tuple(items))

    def unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise QueryError(f"Nested deeper than {MAX_DEPTH}", self.peek.at)
        if self.peek.word("not"):
            self.take()
            return Not(self.unary(depth + 1))
        if self.peek.kind == "punct" and self.peek.text == "(":
            self.take()
            inner = self.query(depth + 1)
            self.expect("punct", ")", "')'")
            return inner
        return self.atom()

    def atom(self) -> Atom:
        token = self.peek
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise self.fail("a condition (online, version, model, tag:KEY, seen, rssi, ...)")
        self.take()
        self.atoms += 1
        if self.atoms > MAX_ATOMS:
            raise QueryError(f"More than {MAX_ATOMS} conditions", token.at)
        name = token.text.lower()
        if name in ("online", "offline"):
            return Atom("online", "=" if name == "online" else "!=")
        if name.startswith("tag:"):
            return self.tag(token)
        parse = _FIELDS.get(name)
        if parse is None:
            raise QueryError(f"Unknown field {token.text!r}", token.at)
        return parse(self, name)

    def operator(self, allowed: tuple[str, ...]) -> str:
        if self.peek.kind != "op" or self.peek.text not in allowed:
            raise self.fail("one of " + " ".join(allowed))
        return self.take().text

    def value(self, expected: str = "a value") -> tuple[str, int]:
        token = self.peek
        if token.kind == "str":
            self.take()
            return re.sub(r"\\(.)", r"\1", token.text[1:-1]), token.at
        if token.kind == "word" and token.text.lower() not in KEYWORDS:
            self.take()
            return token.text, token.at
        raise self.fail(expected)

    def tag(self, token: _Token) -> Atom:
        key = token.text[4:]
        if not TAG_KEY.fullmatch(key):
            raise QueryError(f"{key!r} is not a tag key", token.at + 4)
        if self.peek.word("in"):
            self.take()
            self.expect("punct", "(", "'('")
            values = [self.value()[0]]
            while self.peek.kind == "punct" and self.peek.text == ",":
                self.take()
                values.append(self.value()[0])
            if len(values) > MAX_IN:
                raise QueryError(f"More than {MAX_IN} values in a list", token.at)
            self.expect("punct", ")", "',' or ')'")
            return Atom("tag", "in", tuple(values), key)
        if self.peek.kind == "op":
            op = self.operator(EQUALITY)
            return Atom("tag", op, self.value()[0], key)
        return Atom("tag", "has", None, key)

    def version(self, name: str) -> Atom:
        op = self.operator(COMPARE)
        text, at = self.value("a version")
        try:
            parse_version(text)
        except ValueError:
            raise QueryError(f"{text!r} is not a semantic version", at) from None
        return Atom("version", op, text)

    def text_field(self, name: str) -> Atom:
        op = self.operator(EQUALITY)
        return Atom(name, op, self.value()[0])  # type: ignore[arg-type]

    def choice(self, name: str) -> Atom:
        op = self.operator(EQUALITY)
        choices = {"config": CONFIG_STATES, "status": STATUSES}[name]
        text, at = self.value(" or ".join(choices))
        if text.lower() not in choices:
            raise QueryError(f"{name} is one of {', '.join(choices)}", at)
        return Atom(name, op, text.lower())  # type: ignore[arg-type]

    def device_id(self, name: str) -> Atom:
        op = self.operator(EQUALITY)
        text, at = self.value("a device id")
        if not is_device_id(text):
            raise QueryError("A device id is 32 hex characters", at)
        return Atom("id", op, text)

    def seen(self, name: str) -> Atom:
        op = self.operator(("<", ">"))
        text, at = self.value("a duration")
        match = re.fullmatch(r"([0-9]{1,7})([smhd])", text)
        if match is None:
            raise QueryError("A duration is a number and s, m, h or d (10m)", at)
        ms = int(match.group(1)) * UNITS[match.group(2)]
        if ms > MAX_DURATION_MS:  # its cut-off time must stay a date (iso_ms)
            raise QueryError("A duration is at most 3650d", at)
        return Atom("seen", op, ms)

    def rssi(self, name: str) -> Atom:
        op = self.operator(COMPARE)
        text, at = self.value("a number")
        if not re.fullmatch(r"-?[0-9]{1,4}", text):
            raise QueryError("RSSI is a whole number of dBm", at)
        return Atom("rssi", op, int(text))


_FIELDS = {
    "version": _Parser.version,
    "model": _Parser.text_field,
    "owner": _Parser.text_field,
    "config": _Parser.choice,
    "status": _Parser.choice,
    "id": _Parser.device_id,
    "seen": _Parser.seen,
    "rssi": _Parser.rssi,
}


def parse_query(text: str) -> Node:
    """The query's AST; QueryError (400 invalid_query) says where it went wrong."""
    if len(text) > MAX_LENGTH:
        raise QueryError(f"A query is at most {MAX_LENGTH} characters", MAX_LENGTH)
    parser = _Parser(text)
    if parser.peek.kind == "end":
        raise parser.fail("a condition")
    node = parser.query()
    if parser.peek.kind != "end":
        raise parser.fail("'and', 'or' or the end")
    return node
