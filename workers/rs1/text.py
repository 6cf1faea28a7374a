"""Names that reach a device or a screen: no control or format characters.

Refused: Unicode categories Cc (C0/C1 controls, NUL, newlines), Cf (format: bidi overrides
such as U+202E, zero-width characters, BOM), Cs (lone surrogates), Zl and Zp (line and
paragraph separators). A NUL cuts a C string on the firmware; bidi controls make one name
display as another. Everything else printable, including other scripts and emoji, passes.
"""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_REFUSED = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def first_control(value: str) -> str | None:
    """The first refused character, or None."""
    return next((c for c in value if unicodedata.category(c) in _REFUSED), None)


def printable(value: str) -> str:
    bad = first_control(value)
    if bad is not None:
        raise ValueError(f"must not contain control or format characters (U+{ord(bad):04X})")
    return value


# A str field that refuses control and format characters (use inside a pydantic model).
PlainText = Annotated[str, AfterValidator(printable)]
