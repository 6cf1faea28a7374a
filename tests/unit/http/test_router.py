import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1.http.errors import ApiError
from rs1.http.router import Router

segment = st.text(
    alphabet=st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1
)


async def handler(*_args, **_kwargs):
    return None


def make_router() -> Router:
    router = Router()
    router.add("GET", "/admin/devices/{device_id}", handler)
    router.add("POST", "/admin/devices/{device_id}/revoke", handler)
    router.add("PUT", "/admin/devices/{device_id}", handler)
    return router


@given(segment)
def test_parameters_capture_exactly_one_segment(value: str) -> None:
    _, params = make_router().resolve("GET", f"/admin/devices/{value}")
    assert params == {"device_id": value}


@given(segment, segment)
def test_extra_segments_never_match_a_shorter_template(a: str, b: str) -> None:
    with pytest.raises(ApiError) as err:
        make_router().resolve("GET", f"/admin/devices/{a}/{b}/x")
    assert err.value.status == 404


def test_wrong_method_is_405_with_allow_header() -> None:
    with pytest.raises(ApiError) as err:
        make_router().resolve("DELETE", "/admin/devices/abc")
    assert err.value.status == 405
    assert err.value.headers["allow"] == "GET, PUT"


def test_head_is_served_by_get_routes() -> None:
    found, params = make_router().resolve("HEAD", "/admin/devices/abc")
    assert found is handler and params == {"device_id": "abc"}


def test_template_literals_are_not_regex() -> None:
    router = Router()
    router.add("POST", "/admin/devices:batch", handler)
    with pytest.raises(ApiError):
        router.resolve("POST", "/admin/devicesXbatch")
