"""A text key per semantic version whose byte order is semver precedence, so SQL can compare
versions (SQLite's BINARY collation) through an index:

    MAJOR.MINOR.PATCH → each number length-prefixed ("1" → "011", "10" → "0210"), then
    "~" for a release, or " " and each prerelease identifier ("0" + length-prefixed number,
    "1" + text) joined by " ".

" " sorts below every identifier character and "~" above all of them, so a prerelease sorts
before its release, a shorter identifier list before a longer one with the same start, and
numeric identifiers before alphanumeric ones (semver.org §11).
"""

from rs1contract.semver import parse_version


def _number(n: int) -> str:
    digits = str(n)
    return f"{len(digits):02d}{digits}"


def version_key(text: str) -> str | None:
    """The key of a semantic version; None when the text is not one."""
    try:
        v = parse_version(text)
    except ValueError:
        return None
    core = ".".join(_number(n) for n in (v.major, v.minor, v.patch))
    if not v.prerelease:
        return core + "~"
    idents = [f"0{_number(i)}" if isinstance(i, int) else f"1{i}" for i in v.prerelease]
    return core + " " + " ".join(idents)
