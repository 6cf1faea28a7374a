"""GET /admin/security-log through the app: newest first, the type filter, pages that join
up, a cursor this API never handed out, and callers who may not read it."""

import asyncio
import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest

from helpers import Clock, fresh_db, unit_services
from rs1.apps.device_api import build_app
from rs1.http.cursors import encode_cursor
from rs1.identity import api_key_store
from rs1.identity.api_keys import new_key
from rs1.identity.sessions import start_session
from rs1.messages import ApiRequest
from rs1.security_log import RATE_LIMIT_EXCEEDED, record_security_event

APP = build_app()
PATH = "/admin/security-log"


def run(coro):
    return asyncio.run(coro)


class Api:
    def __init__(self) -> None:
        svc = unit_services(fresh_db(), Clock(1_795_000_000.0))
        self.svc = replace(svc, settings=replace(svc.settings, api_rate_limit=10**9))
        self.key = self.new_key(["audit:read"])

    def new_key(self, scopes: list[str], role: str = "admin") -> str:
        made = new_key()
        run(api_key_store.insert(self.svc.db, made.key_id, "t", made.secret_hash, scopes, role,
                                 f"apikey:{made.key_id}", "ops", "2026-01-01T00:00:00.000Z",
                                 None))  # fmt: skip
        return made.key

    def session(self, role: str) -> str:
        svc = self.svc
        token, _ = run(start_session(svc.kv["SESSIONS"], svc.settings.jwt_secret, f"u-{role}",
                                     role, svc.clock(), 3600))  # fmt: skip
        return token

    def call(self, token: str | None = "", **query) -> tuple[int, dict]:
        token = self.key if token == "" else token
        headers = {"authorization": f"Bearer {token}"} if token else {}
        request = ApiRequest("GET", PATH, urlencode(query), headers=headers, request_id="t")
        response = run(APP.handle(request, self.svc))
        return response.status, json.loads(response.body)

    def record(self, event_type: str, n: int) -> None:
        run(record_security_event(self.svc.db, event_type, {"n": n}, f"10.0.0.{n}"))


def test_pages_newest_first_and_the_type_filter_keeps_only_that_type() -> None:
    api = Api()
    for n in range(5):
        api.record(RATE_LIMIT_EXCEEDED, n)
        api.record("acl_violation", n)
    seen, cursor, pages = [], None, 0
    while True:
        status, page = api.call(type=RATE_LIMIT_EXCEEDED, limit=2,
                                **({"cursor": cursor} if cursor else {}))  # fmt: skip
        assert status == 200, page
        assert all(e["event_type"] == RATE_LIMIT_EXCEEDED for e in page["events"])
        seen += [e["details"]["n"] for e in page["events"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [4, 3, 2, 1, 0] and pages == 3
    status, page = api.call(type="acl_violation", limit=1)
    assert page["events"][0] == {
        "id": page["events"][0]["id"],
        "event_type": "acl_violation",
        "details": {"n": 4},
        "ip": "10.0.0.4",
        "timestamp": page["events"][0]["timestamp"],
    }
    _, everything = api.call()
    ids = [e["id"] for e in everything["events"]]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 10
    assert api.call(type="no_such_type")[1] == {"events": [], "next_cursor": None}


@pytest.mark.parametrize(
    "cursor",
    ["!!", encode_cursor("7"), encode_cursor(-1), encode_cursor(True), encode_cursor(2**63),
     encode_cursor({"after": 3})],
)  # fmt: skip
def test_a_cursor_this_api_never_handed_out_is_a_400(cursor: str) -> None:
    status, body = Api().call(cursor=cursor)
    assert (status, body["error"]) == (400, "bad_request"), body


def test_a_bad_limit_or_type_is_a_400() -> None:
    api = Api()
    assert api.call(limit=0)[0] == 400
    assert api.call(limit="x")[0] == 400
    assert api.call(type="t" * 65)[0] == 400


def test_only_an_admin_with_audit_read_may_read_it() -> None:
    api = Api()
    assert api.call(None)[0] == 401
    assert api.call(api.session("user"))[1]["error"] == "forbidden"
    assert api.call(api.new_key(["audit:read"], role="user"))[0] == 403
    assert api.call(api.new_key(["fleet:read"]))[1]["error"] == "insufficient_scope"
    assert api.call(api.session("admin"))[0] == 200
