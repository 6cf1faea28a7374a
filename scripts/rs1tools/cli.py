"""How the repository's own CLIs run (typer + rich, like rs1ctl): `main(argv)` runs a typer
app and returns its exit code, so `python -m` and callers that pass an argv list both work."""

import sys

import typer


def exit_code(exc: SystemExit) -> int:
    """What the interpreter would exit with, and like it the reason of a SystemExit("reason")
    goes to stderr: restore's and emqx_apply's refusals would otherwise end silently."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


def run(app: typer.Typer, argv: list[str] | None, prog: str) -> int:
    try:
        app(args=argv, prog_name=prog)
    except SystemExit as exc:  # typer (click) always exits, 0 included
        return exit_code(exc)
    return 0
