"""What the HTTP layer around a Worker does on workerd."""

from rs1tools.sessions import bearer


def test_hop_by_hop_headers_never_reach_the_client(device_api, user_token, enroll, admin) -> None:
    """The live-targets endpoint answers a plain GET with 426; workerd drops any Upgrade or
    Connection header a Worker sets on a non-101 response."""
    me = enroll()["device_id"]
    response = device_api.get(
        f"/api/devices/{me}/targets", headers=bearer(user_token("x", "admin"))
    )
    assert response.status_code == 426
    # (The server's own framing — Transfer-Encoding, Connection/Keep-Alive — may be there.)
    assert "upgrade" not in response.headers
    assert response.headers.get("connection", "keep-alive").lower() != "upgrade"
