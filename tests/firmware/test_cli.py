"""`python -m rs1fw`: keygen, build-image, sign, verify."""

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from rs1fw.cli import main

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"


def _keygen(tmp_path: Path) -> Path:
    assert main(["keygen", "--out", str(tmp_path / "keys")]) == 0
    return tmp_path / "keys"


def test_keygen_writes_a_private_key_only_we_can_read(tmp_path):
    keys = _keygen(tmp_path)
    assert stat.S_IMODE((keys / "dev-private.pem").stat().st_mode) == 0o600
    assert (keys / "dev-public.pem").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_keygen_refuses_to_overwrite_without_force(tmp_path, capsys):
    keys = _keygen(tmp_path)
    before = (keys / "dev-private.pem").read_bytes()
    assert main(["keygen", "--out", str(keys)]) == 1
    assert "--force" in capsys.readouterr().err
    assert (keys / "dev-private.pem").read_bytes() == before

    (keys / "dev-private.pem").chmod(0o644)
    assert main(["keygen", "--out", str(keys), "--force"]) == 0
    assert (keys / "dev-private.pem").read_bytes() != before
    assert stat.S_IMODE((keys / "dev-private.pem").stat().st_mode) == 0o600


def _build_and_sign(tmp_path: Path, keys: Path) -> tuple[Path, Path]:
    image, manifest = tmp_path / "f.bin", tmp_path / "f.manifest.json"
    model_version = ["--model", "RS-1", "--version", "1.2.0"]
    assert main(["build-image", *model_version, "--size", "30000", "--out", str(image)]) == 0
    sign = ["sign", str(image), *model_version, "--min-version", "1.0.0"]
    assert main([*sign, "--key", str(keys / "dev-private.pem"), "--out", str(manifest)]) == 0
    return image, manifest


def test_build_sign_verify(tmp_path, capsys):
    keys = _keygen(tmp_path)
    image, manifest = _build_and_sign(tmp_path, keys)
    fields = json.loads(manifest.read_text())
    assert (fields["size"], fields["min_version"]) == (30000, "1.0.0")

    pubkey = ["--pubkey", str(keys / "dev-public.pem")]
    assert main(["verify", str(image), str(manifest), *pubkey]) == 0
    assert capsys.readouterr().out.strip().endswith(fields["sha256"])

    data = bytearray(image.read_bytes())
    data[-1] ^= 1
    image.write_bytes(bytes(data))
    assert main(["verify", str(image), str(manifest), *pubkey]) == 1
    assert "sha256_mismatch" in capsys.readouterr().err


def test_sign_refuses_a_mislabelled_image(tmp_path, capsys):
    keys = _keygen(tmp_path)
    image, _ = _build_and_sign(tmp_path, keys)
    key = ["--key", str(keys / "dev-private.pem")]
    out = ["--out", str(tmp_path / "x.json")]
    assert main(["sign", str(image), "--model", "RS-1", "--version", "1.3.0", *key, *out]) == 1
    assert "header says RS-1 1.2.0" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--help"], ["keygen", "--help"]])
def test_runs_as_a_module(args):
    result = subprocess.run(
        [sys.executable, "-m", "rs1fw", *args],
        # rs1fw shares rs1's manifest and semver code: both roots are on the path.
        env={"PYTHONPATH": f"{FIRMWARE_DIR}:{FIRMWARE_DIR.parent / 'workers'}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0 and "usage: rs1fw" in result.stdout.lower()
