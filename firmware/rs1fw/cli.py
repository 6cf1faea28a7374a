"""`python -m rs1fw`: keygen, build-image, sign, verify."""

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from rs1fw.images import ImageFormatError, build_image, parse_header
from rs1fw.keys import KEYS_DIR, PRIVATE_NAME, PUBLIC_NAME, write_keypair
from rs1fw.manifest import Manifest
from rs1fw.signing import VerificationError, sign_image, verify_image


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
    print(f"wrote {private} (0600) and {public}")


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
    print(f"wrote {out} ({len(image)} bytes)")


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
    print(f"wrote {out} (sha256 {manifest.sha256})")


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
    print(f"OK {signed.model} {signed.version} sha256 {signed.sha256}")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the app; a CliError or OSError is one line on stderr and exit status 1 (click
    handles usage errors itself and passes other exceptions through)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="rs1fw")
    except (CliError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
