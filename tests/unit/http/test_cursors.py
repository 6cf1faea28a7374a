import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1.errors import BadParameter
from rs1.http.cursors import decode_cursor, encode_cursor
from rs1.http.error_map import status_of

positions = st.one_of(
    st.fixed_dictionaries({"after": st.text()}),
    st.tuples(st.integers(), st.text()).map(list),
)


@given(positions)
def test_a_cursor_gives_back_its_position(position) -> None:
    assert decode_cursor(encode_cursor(position)) == position


@given(st.text())
def test_anything_else_is_a_400_never_a_crash(raw: str) -> None:
    try:
        decode_cursor(raw)
    except BadParameter as exc:
        assert status_of(exc) == 400 and exc.code == "bad_request"
    # Some strings happen to be valid base64 JSON: those decode, which is fine.


def test_garbage_is_refused() -> None:
    with pytest.raises(BadParameter):
        decode_cursor("not a cursor!")
