"""`python -m imgsync.demo`: sync a scratch copy of examples/ against the fake Lsky host.

It runs the real `imgsync` command three times (sync, sync again, check), shows
the diff of every rewritten file, and leaves the copy for you to look at.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .testing.fake_lsky import FakeLsky

DEMO_TOKEN = "1|demo-token-for-the-local-fake-host-only0"


def find_examples() -> Path:
    """The sample blog: examples/ of the source checkout."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (base / "examples" / "imgsync.toml").is_file():
            return base / "examples"
    raise SystemExit("imgsync demo: cannot find examples/; run it from the project's folder")


def main() -> int:
    examples = find_examples()
    scratch = Path(tempfile.mkdtemp(prefix="imgsync-demo-")) / "blog"
    shutil.copytree(examples, scratch)
    before = {p: p.read_bytes() for p in scratch.rglob("*.md")}
    imgsync = _console_script()
    with FakeLsky(token=DEMO_TOKEN) as host:
        env = {**os.environ, "LSKY_BASE_URL": host.url, "LSKY_TOKEN": DEMO_TOKEN}
        env.pop("CI", None)
        print(f"fake Lsky Pro host on {host.url}; scratch copy of examples/ in {scratch}\n")
        first = _run([imgsync, "--verbose", "."], scratch, env)
        _show_diffs(before, scratch)
        second = _run([imgsync, "."], scratch, env)
        uploads_before_check = len(host.uploads)
        check = _run([imgsync, "check", "."], scratch, env)
        print(
            f"\nthe host received {uploads_before_check} upload(s) in all; "
            f"the cache is {scratch / '.imgsync-cache.json'}"
        )
    ok = first == 0 and second == 0 and check == 0
    print("demo finished: all three commands exited 0" if ok else "demo FAILED: see above")
    return 0 if ok else 1


def _console_script() -> str:
    # The `imgsync` installed beside this Python, even when its folder is not on PATH.
    beside = Path(sys.executable).with_name("imgsync")
    return str(beside) if beside.exists() else shutil.which("imgsync") or "imgsync"


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    shown = " ".join(["imgsync", *command[1:]])
    print(f"$ {shown}", flush=True)
    status = subprocess.run(command, cwd=cwd, env=env, check=False).returncode
    print(f"(exit status {status})\n", flush=True)
    return status


def _show_diffs(before: dict[Path, bytes], scratch: Path) -> None:
    for path, old in sorted(before.items()):
        new = path.read_bytes()
        if new == old:
            continue
        name = path.relative_to(scratch).as_posix()
        diff = difflib.unified_diff(
            old.decode().splitlines(keepends=True),
            new.decode().splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
            n=0,
        )
        sys.stdout.writelines(diff)
    print(flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
