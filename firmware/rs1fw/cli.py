"""`python -m rs1fw`: keygen, build-image, sign, verify."""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

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


def keygen(args: argparse.Namespace) -> None:
    try:
        private, public = write_keypair(args.out, force=args.force)
    except FileExistsError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {private} (0600) and {public}")


def build(args: argparse.Namespace) -> None:
    try:
        image = build_image(args.model, args.version, args.size)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    args.out.write_bytes(image)
    print(f"wrote {args.out} ({len(image)} bytes)")


def sign(args: argparse.Namespace) -> None:
    image = args.image.read_bytes()
    _check_header(image, args.model, args.version)
    try:
        manifest = sign_image(
            image, args.key.read_bytes(), args.model, args.version, args.min_version
        )
    except (ValueError, ValidationError) as exc:
        raise CliError(str(exc)) from None
    args.out.write_text(manifest.model_dump_json(indent=2) + "\n")
    print(f"wrote {args.out} (sha256 {manifest.sha256})")


def verify(args: argparse.Namespace) -> None:
    try:
        manifest = Manifest.model_validate_json(args.manifest.read_text())
    except ValidationError as exc:
        raise CliError(f"invalid manifest: {exc}") from None
    image = args.image.read_bytes()
    try:
        verify_image(image, manifest, args.pubkey.read_bytes())
    except VerificationError as exc:
        raise CliError(f"{exc.code}: {exc}") from None
    _check_header(image, manifest.model, manifest.version)
    print(f"OK {manifest.model} {manifest.version} sha256 {manifest.sha256}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rs1fw", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("keygen", help="generate the dev signing keypair")
    p.add_argument("--out", type=Path, default=KEYS_DIR, help=f"directory (default {KEYS_DIR})")
    p.add_argument("--force", action="store_true", help="replace an existing keypair")
    p.set_defaults(run=keygen)

    p = commands.add_parser("build-image", help="write a deterministic test image")
    p.add_argument("--model", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(run=build)

    p = commands.add_parser("sign", help="sign an image and write its manifest")
    p.add_argument("image", type=Path)
    p.add_argument("--model", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--min-version")
    p.add_argument("--key", type=Path, default=KEYS_DIR / PRIVATE_NAME)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(run=sign)

    p = commands.add_parser("verify", help="check an image against its manifest")
    p.add_argument("image", type=Path)
    p.add_argument("manifest", type=Path)
    p.add_argument("--pubkey", type=Path, default=KEYS_DIR / PUBLIC_NAME)
    p.set_defaults(run=verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], None] = args.run
    try:
        run(args)
    except (CliError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
