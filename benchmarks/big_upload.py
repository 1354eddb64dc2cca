"""Peak memory of imgsync while it uploads one very large image: is the file streamed?

    .venv/bin/python benchmarks/big_upload.py [--size-mb 200]

Writes a PNG of the given size (with GPS in an eXIf chunk, which the default
strip_metadata = "location" takes out while streaming the rest) into a temporary
folder, starts the project's fake Lsky in its own process (its memory is not counted), and runs
the real console script twice, as a user would: `imgsync upload big.png`, and
`imgsync sync` on a post that references it. Each child's peak resident memory
comes from the kernel (wait4's ru_maxrss), beside the same command on a tiny
image: the difference is what the large file costs. POSIX only.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "1|benchmarkTokenXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHUNK = 4 * 1024 * 1024


def _chunk_head(kind: bytes, length: int) -> bytes:
    return struct.pack(">I", length) + kind


def _gps_exif() -> bytes:
    """A little-endian Exif block whose IFD0 points at a GPS IFD (latitude ref "N")."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, 26) + bytes(4)
    gps = struct.pack("<H", 1) + struct.pack("<HHI4s", 0x0001, 2, 2, b"N\0\0\0") + bytes(4)
    return b"II*\0" + struct.pack("<I", 8) + ifd0 + gps


def write_image(path: Path, size: int) -> None:
    """A PNG of `size` bytes: IHDR, an eXIf chunk with GPS (so that stripping, on by default,
    has work to do), one IDAT chunk of random bytes, IEND; every CRC right."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    exif = _gps_exif()
    head = PNG_SIGNATURE
    for kind, data in ((b"IHDR", ihdr), (b"eXIf", exif)):
        head += _chunk_head(kind, len(data)) + data
        head += struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    left = max(0, size - len(head) - 12 - 12)
    with path.open("wb") as out:
        out.write(head + _chunk_head(b"IDAT", left))
        crc = zlib.crc32(b"IDAT")
        while left > 0:
            block = os.urandom(min(CHUNK, left))
            out.write(block)
            crc = zlib.crc32(block, crc)
            left -= len(block)
        out.write(struct.pack(">I", crc & 0xFFFFFFFF))
        out.write(_chunk_head(b"IEND", 0) + struct.pack(">I", zlib.crc32(b"IEND")))


def start_fake_host(
    max_size_kb: int, extra: list[str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """The fake Lsky in its own process, with no rate limit; (process, API URL)."""
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imgsync.testing.fake_lsky",
            "--quiet",
            "--token",
            TOKEN,
            "--rate-limit",
            "0",
            "--max-size-kb",
            str(max_size_kb),
            *(extra or []),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    return fake, fake.stdout.readline().strip()


def peak_memory(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit status) of one run of `args`."""
    started = time.monotonic()
    child = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    took = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 and child.stderr is not None:
        sys.stderr.write(child.stderr.read().decode(errors="replace"))
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return usage.ru_maxrss * scale / 2**20, took, child.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the image (MB)")
    args = parser.parse_args()
    size = args.size_mb * 2**20

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "imgsync.toml").write_text(
            '[hosts.bench]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
        )
        write_image(root / "big.png", size)
        write_image(root / "tiny.png", 1024)
        (root / "big.md").write_text("# Big\n\n![a big one](big.png)\n")
        (root / "tiny.md").write_text("# Tiny\n\n![a tiny one](tiny.png)\n")
        fake, url = start_fake_host(max_size_kb=size // 1024 + 1024)
        env = {**os.environ, "LSKY_BASE_URL": url, "LSKY_TOKEN": TOKEN, "CI": "true"}
        try:
            rows = []
            for label, command in [
                ("imgsync upload", [IMGSYNC, "upload"]),
                ("imgsync sync", [IMGSYNC, "sync"]),
            ]:
                for name, target in [("tiny", "tiny"), (f"{args.size_mb} MB", "big")]:
                    suffix = ".png" if command[-1] == "upload" else ".md"
                    # Each run starts with no cache, so each one really uploads.
                    (root / ".imgsync-cache.json").unlink(missing_ok=True)
                    peak, took, status = peak_memory([*command, target + suffix], root, env)
                    if status != 0:
                        print(f"{label} {target}{suffix} failed with exit status {status}")
                        return 1
                    rows.append((label, name, peak, took))
        finally:
            fake.terminate()
            fake.wait()

    print(f"{'command':<16} {'image':>8} {'peak RSS':>10} {'time':>7}")
    for label, name, peak, took in rows:
        print(f"{label:<16} {name:>8} {peak:>7.1f} MB {took:>6.2f}s")
    for label in ("imgsync upload", "imgsync sync"):
        tiny, big = (peak for row_label, _, peak, _ in rows if row_label == label)
        print(f"{label}: the {args.size_mb} MB image costs {big - tiny:+.1f} MB over a tiny one")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
