import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1.http.cursors import decode_cursor, encode_cursor
from rs1.http.errors import ApiError

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
    except ApiError as exc:
        assert exc.status == 400
    # Some strings happen to be valid base64 JSON: those decode, which is fine.


def test_garbage_is_refused() -> None:
    with pytest.raises(ApiError):
        decode_cursor("not a cursor!")
