"""The hostile-repository suite's setting: a CI job with secrets in its environment, running the
real console script on a repository a stranger wrote, against a server that logs every byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.testing.attacker import Attacker

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
# What a CI job's environment holds; none of it may ever reach the attacker or the output.
SECRETS = {
    "LSKY_TOKEN": "1|ciTokenFromTheSecretStoreThatMustStayHere000",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "GITHUB_TOKEN": "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
}


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    with Attacker() as server:
        yield server


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The checked-out pull request: a folder the attacker filled (tests write into it)."""
    root = tmp_path / "repo"
    root.mkdir()
    return root


def run_imgsync(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real console script in a CI-like environment holding SECRETS (plus `env`)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    full = {**base, "CI": "true", **SECRETS, **(env or {})}
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout
    )
    for value in SECRETS.values():
        assert value not in done.stdout and value not in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


def assert_no_secret_reached(attacker: Attacker) -> None:
    """Not one secret, whole or in part that matters, in any byte the attacker received."""
    received = attacker.received
    for name, value in SECRETS.items():
        for piece in {value, value.partition("|")[2]} - {""}:
            assert piece.encode() not in received, f"{name} reached the attacker"


# Runs one command and prints its own peak RSS: Linux carries a process's peak from before
# exec into ru_maxrss, and a child forked from this (large) test process starts as big as it.
# Forked from this small trampoline instead, the command's peak is its own.
_TRAMPOLINE = """
import json, os, signal, subprocess, sys, threading, time
argv, timeout, errors = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
started = time.monotonic()
with open(errors, "wb") as err:
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
timer = threading.Timer(timeout, os.kill, (child.pid, signal.SIGKILL))
timer.start()
_, status, usage = os.wait4(child.pid, 0)
timer.cancel()
print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.monotonic() - started]))
"""


def run_measured(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, str, int, float]:
    """The console script as run_imgsync runs it: (exit status, stderr, peak RSS in bytes of
    the command alone, seconds). stdout is dropped: hostile replies make no useful output."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    full = {**base, "CI": "true", **SECRETS, **(env or {})}
    errors = cwd.parent / f"stderr-{os.getpid()}.txt"
    done = subprocess.run(
        [sys.executable, "-c", _TRAMPOLINE, json.dumps([IMGSYNC, *args]), str(timeout), errors],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout + 30,
    )
    status, maxrss_kib, seconds = json.loads(done.stdout)
    stderr = errors.read_text(encoding="utf-8")
    for value in SECRETS.values():
        assert value not in stderr
    assert "Traceback" not in stderr and "MemoryError" not in stderr, stderr
    return int(status), stderr, int(maxrss_kib) * 1024, float(seconds)
