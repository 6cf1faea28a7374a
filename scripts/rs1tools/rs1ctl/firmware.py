"""`rs1ctl firmware`: build, sign and verify images with rs1fw; publish and list them.

publish PUTs the image to /admin/firmware/{model}/{version} with its signed manifest in
X-RS1-Manifest (base64 JSON); the Worker verifies size, hash, signature and image header
again before storing anything.
"""

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rs1fw.images import ImageFormatError, build_image, parse_header
from rs1fw.keys import KEYS_DIR, PRIVATE_NAME, PUBLIC_NAME
from rs1fw.manifest import Manifest
from rs1fw.signing import VerificationError, sign_image, verify_image

from rs1tools.rs1ctl import output
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.exits import CtlError, Exit
from rs1tools.rs1ctl.state import JsonOpt, ctl

app = typer.Typer(help="Build, sign, verify, publish and list firmware.", no_args_is_help=True)

CHUNK = 64 * 1024
MANIFEST_HEADER = "x-rs1-manifest"
ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False)]


def header_mismatch(image: bytes, model: str, version: str) -> str | None:
    """Why the image's own RS1FW header disagrees with model/version (None: it agrees, or
    there is none). The signature covers the bytes, not the labels: this catches relabelling."""
    try:
        found = parse_header(image)
    except ImageFormatError:
        return None
    return None if found == (model, version) else f"the image header says {found[0]} {found[1]}"


def build(model: str, version: str, size: int, out: Path) -> dict[str, Any]:
    try:
        image = build_image(model, version, size)
    except ValueError as exc:
        raise CtlError(Exit.INVALID, "invalid_image", str(exc)) from None
    out.write_bytes(image)
    return {"path": str(out), "model": model, "version": version, "size": len(image)}


def sign(
    image: bytes,
    key_pem: bytes,
    model: str,
    version: str,
    min_version: str | None = None,
    security_version: int = 0,
) -> Manifest:
    if why := header_mismatch(image, model, version):
        raise CtlError(Exit.INVALID, "header_mismatch", f"{why}, not {model} {version}")
    try:
        manifest = sign_image(image, key_pem, model, version, min_version)
    except (ValueError, ValidationError) as exc:  # a bad key, version or model
        raise CtlError(Exit.INVALID, "cannot_sign", str(exc)) from None
    return manifest.model_copy(update={"security_version": security_version})


def verify(image: bytes, manifest: Manifest, public_pem: bytes) -> None:
    """CtlError (exit 8) unless the image is exactly what the manifest signed."""
    try:
        verify_image(image, manifest, public_pem)
    except VerificationError as exc:
        raise CtlError(Exit.VERIFY, exc.code, str(exc)) from None
    if why := header_mismatch(image, manifest.model, manifest.version):
        raise CtlError(Exit.VERIFY, "header_mismatch", why)


def load_manifest(path: Path) -> Manifest:
    try:
        return Manifest.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise CtlError(Exit.INVALID, "invalid_manifest", f"{path}: {exc}") from None


def _chunks(image: bytes, advance: Callable[[int], None]) -> Iterator[bytes]:
    for start in range(0, len(image), CHUNK):
        chunk = image[start : start + CHUNK]
        yield chunk
        advance(len(chunk))  # asked for the next one: this one went out


def publish(
    api: Api, image: bytes, manifest: Manifest, advance: Callable[[int], None] = lambda n: None
) -> dict[str, Any]:
    """PUT the image, streamed (advance(n) after each chunk sent); the API's answer."""
    headers = {
        MANIFEST_HEADER: base64.b64encode(manifest.model_dump_json().encode()).decode(),
        # Declared, so httpx sends a plain body, not chunked: the Worker checks the limit first.
        "content-length": str(len(image)),
        "content-type": "application/octet-stream",
    }
    path = f"/admin/firmware/{manifest.model}/{manifest.version}"
    return api.call("PUT", path, content=_chunks(image, advance), headers=headers).json()


def list_firmware(api: Api) -> dict[str, Any]:
    return api.get("/admin/firmware")


@app.command("build")
def build_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(help="e.g. RS-1")],
    version: Annotated[str, typer.Option(help="Semantic version, e.g. 1.2.0")],
    size: Annotated[int, typer.Option(min=1, help="Bytes")],
    out: Annotated[Path, typer.Option(help="Image file to write")],
    json_out: JsonOpt = False,
) -> None:
    """Write a deterministic test image (RS1FW header + filler)."""
    output.emit(ctl(ctx), build(model, version, size, out), output.fields)


@app.command("sign")
def sign_cmd(
    ctx: typer.Context,
    image: ExistingFile,
    model: Annotated[str | None, typer.Option(help="Default: the image header's")] = None,
    version: Annotated[str | None, typer.Option(help="Default: the image header's")] = None,
    min_version: Annotated[
        str | None, typer.Option(help="Oldest version that may install it")
    ] = None,
    security_version: Annotated[
        int, typer.Option(min=0, help="Anti-rollback counter: raise it for a security fix")
    ] = 0,
    key: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Private key PEM")] = (
        KEYS_DIR / PRIVATE_NAME
    ),
    out: Annotated[Path | None, typer.Option(help="Default: IMAGE.manifest.json")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Sign an image (ECDSA P-256) and write its manifest."""
    data = image.read_bytes()
    if model is None or version is None:
        try:
            found = parse_header(data)
        except ImageFormatError:
            raise typer.BadParameter(
                "the image has no RS1FW header: give --model and --version"
            ) from None
        model, version = model or found[0], version or found[1]
    manifest = sign(data, key.read_bytes(), model, version, min_version, security_version)
    target = out or image.with_suffix(".manifest.json")
    target.write_text(manifest.model_dump_json(indent=2) + "\n")
    document = {"manifest": str(target), **manifest.model_dump(mode="json")}
    output.emit(ctl(ctx), document, output.fields)


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    image: ExistingFile,
    manifest: ExistingFile,
    pubkey: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="Public key (PEM or base64 DER)")
    ] = KEYS_DIR / PUBLIC_NAME,
    json_out: JsonOpt = False,
) -> None:
    """Check an image against its manifest and the release key (exit 8 if it does not verify)."""
    signed = load_manifest(manifest)
    verify(image.read_bytes(), signed, pubkey.read_bytes())
    document = {
        "ok": True,
        "model": signed.model,
        "version": signed.version,
        "sha256": signed.sha256,
    }
    output.emit(
        ctl(ctx),
        document,
        lambda d: output.out.print(f"OK {d['model']} {d['version']} sha256 {d['sha256']}"),
    )


@app.command("publish")
def publish_cmd(
    ctx: typer.Context, image: ExistingFile, manifest: ExistingFile, json_out: JsonOpt = False
) -> None:
    """Upload a signed image (a progress bar on stderr while it streams)."""
    c = ctl(ctx)
    data, signed = image.read_bytes(), load_manifest(manifest)
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=output.err, transient=True, disable=c.json) as bar:
        task = bar.add_task("upload", total=len(data))
        stored = publish(c.api(), data, signed, lambda n: bar.advance(task, n))
    output.emit(c, stored, output.fields)


@app.command("list")
def list_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Uploaded firmware."""
    c = ctl(ctx)
    columns = [
        "model",
        "version",
        "size",
        "sha256",
        "min_version",
        "security_version",
        "created_at",
    ]
    output.emit(
        c, list_firmware(c.api()), lambda d: output.table(d["firmware"], columns, "firmware")
    )
