"""`python -m rs1fw`: keygen, build-image, sign, verify."""

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from rs1fw.images import ImageFormatError, build_image, parse_header
from rs1fw.keys import KEYS_DIR, PRIVATE_NAME, PUBLIC_NAME, write_keypair
from rs1fw.manifest import Manifest
from rs1fw.signing import VerificationError, sign_image, verify_image

# Plain text, never markup (paths may hold "["); soft wrap keeps a sha256 line whole for grep.
console = Console(highlight=False, markup=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def _check_header(image: bytes, model: str, version: str) -> None:
    # Headerless (real) images are fine; a header that disagrees is a mislabelled image,
    # and the signature alone would not catch it (it covers the bytes, not the labels).
    try:
        found = parse_header(image)
    except ImageFormatError:
        return
    if found != (model, version):
        raise CliError(f"image header says {found[0]} {found[1]}, not {model} {version}")


app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
Opt = typer.Option
ImagePath = Annotated[Path, typer.Argument(help="the image file")]


@app.command("keygen")
def keygen(
    out: Annotated[Path, Opt(help="directory")] = KEYS_DIR,
    force: Annotated[bool, Opt("--force", help="replace an existing keypair")] = False,
) -> None:
    """Generate the dev signing keypair."""
    try:
        private, public = write_keypair(out, force=force)
    except FileExistsError as exc:
        raise CliError(str(exc)) from None
    console.print(f"wrote {private} (0600) and {public}")


@app.command("build-image")
def build(
    model: Annotated[str, Opt()],
    version: Annotated[str, Opt()],
    size: Annotated[int, Opt()],
    out: Annotated[Path, Opt()],
) -> None:
    """Write a deterministic test image."""
    try:
        image = build_image(model, version, size)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    out.write_bytes(image)
    console.print(f"wrote {out} ({len(image)} bytes)")


@app.command("sign")
def sign(
    image: ImagePath,
    model: Annotated[str, Opt()],
    version: Annotated[str, Opt()],
    out: Annotated[Path, Opt()],
    min_version: Annotated[str | None, Opt()] = None,
    key: Annotated[Path, Opt()] = KEYS_DIR / PRIVATE_NAME,
) -> None:
    """Sign an image and write its manifest."""
    data = image.read_bytes()
    _check_header(data, model, version)
    try:
        manifest = sign_image(data, key.read_bytes(), model, version, min_version)
    except (ValueError, ValidationError) as exc:
        raise CliError(str(exc)) from None
    out.write_text(manifest.model_dump_json(indent=2) + "\n")
    console.print(f"wrote {out} (sha256 {manifest.sha256})")


@app.command("verify")
def verify(
    image: ImagePath,
    manifest: Annotated[Path, typer.Argument(help="its manifest (JSON)")],
    pubkey: Annotated[Path, Opt()] = KEYS_DIR / PUBLIC_NAME,
) -> None:
    """Check an image against its manifest."""
    try:
        signed = Manifest.model_validate_json(manifest.read_text())
    except ValidationError as exc:
        raise CliError(f"invalid manifest: {exc}") from None
    data = image.read_bytes()
    try:
        verify_image(data, signed, pubkey.read_bytes())
    except VerificationError as exc:
        raise CliError(f"{exc.code}: {exc}") from None
    _check_header(data, signed.model, signed.version)
    ok = ("OK", "bold green")
    console.print(Text.assemble(ok, f" {signed.model} {signed.version} sha256 {signed.sha256}"))


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the app; a CliError or OSError is one line on stderr and exit status 1 (click
    handles usage errors itself and passes other exceptions through)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="rs1fw")
    except (CliError, OSError) as exc:
        err_console.print(Text(f"error: {exc}", style="red"))
        return 1
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        err_console.print(str(exc.code))  # as the interpreter would: SystemExit("reason")
        return 1
    return 0
