"""The dev keypair on disk: firmware/keys/ (gitignored; generated at setup, never committed)."""

import os
from pathlib import Path

from rs1fw.signing import generate_keypair

KEYS_DIR = Path(__file__).resolve().parents[1] / "keys"
PRIVATE_NAME = "dev-private.pem"
PUBLIC_NAME = "dev-public.pem"


def _write(path: Path, data: bytes, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    # The mode passed to open() applies to new files only; chmod covers an overwritten one.
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)


def write_keypair(out_dir: Path, force: bool = False) -> tuple[Path, Path]:
    """Generate and write (private, public); FileExistsError unless force."""
    private_path, public_path = out_dir / PRIVATE_NAME, out_dir / PUBLIC_NAME
    if not force:
        for path in (private_path, public_path):
            if path.exists():
                raise FileExistsError(f"{path} exists (use --force to replace the keypair)")
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_pem, public_pem = generate_keypair()
    _write(private_path, private_pem, 0o600, force)
    _write(public_path, public_pem, 0o644, force)
    return private_path, public_path
