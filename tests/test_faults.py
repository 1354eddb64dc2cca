"""Fault injection: real imgsync processes against a fake Lsky that fails, limits and is shared.

Each test runs the installed console script in a real folder against a real HTTP
server on 127.0.0.1, then reads what the host stored, the cache and the files.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky, Fault
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "5|faultInjectionTokenXXXXXXXXXXXXXXXXXXXXXXX"


def make_blog(root: Path, images: int, per_post: int = 4, settings: str = "") -> None:
    """`images` distinct PNGs, `per_post` to a post, and a config reading the host from env."""
    (root / "img").mkdir(parents=True)
    (root / "posts").mkdir()
    for first in range(0, images, per_post):
        lines = [f"# Post {first}\n\n"]
        for number in range(first, min(images, first + per_post)):
            (root / "img" / f"{number}.png").write_bytes(png_bytes(2, 2, (number, 40, 90)))
            lines.append(f"Figure {number}: ![fig {number}](../img/{number}.png)\n\n")
        (root / "posts" / f"p{first:03}.md").write_text("".join(lines))
    (root / "imgsync.toml").write_text(
        f'{settings}\n[hosts.main]\ntype = "lsky"\nurl = "${{LSKY_BASE_URL}}"\n'
        'token = "${LSKY_TOKEN}"\n'
    )


def env_for(host: FakeLsky) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC"))}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=TOKEN, CI="true")
    return env


def sync(root: Path, host: FakeLsky, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IMGSYNC, "."], cwd=root, env=env_for(host), capture_output=True, text=True, timeout=timeout
    )


def stored_by_md5(host: FakeLsky) -> Counter[str]:
    """How many times the host stored each image (refused and failed requests don't count)."""
    return Counter(upload.md5 for upload in host.uploads if upload.key is not None)


def cache_entries(root: Path) -> dict[str, dict[str, object]]:
    document = json.loads((root / ".imgsync-cache.json").read_text())
    [entries] = document["uploads"].values()
    return dict(entries)


def assert_all_rewritten(root: Path, images: int) -> None:
    text = "".join(p.read_text() for p in sorted((root / "posts").glob("*.md")))
    assert "../img/" not in text
    assert len(re.findall(r"!\[fig \d+\]\(http://127\.0\.0\.1:\d+/[^)]+\.png\)", text)) == images


def test_uploads_run_jobs_at_a_time_on_a_host_that_sends_no_limits(tmp_path: Path) -> None:
    with FakeLsky(token=TOKEN, rate_limit=None, latency=0.2) as host:
        make_blog(tmp_path, images=12, settings="jobs = 4")
        done = sync(tmp_path, host)

    assert done.returncode == 0, done.stderr
    assert host.most_at_once == 4
    assert len(stored_by_md5(host)) == 12


def test_a_host_failing_one_request_in_five_loses_nothing(tmp_path: Path) -> None:
    faults: tuple[Fault, ...] = ("500", "502", "reset", "hang")
    with FakeLsky(
        token=TOKEN, rate_limit=None, fault_rate=0.2, random_faults=faults, seed=20261123
    ) as host:
        make_blog(tmp_path, images=40, settings="read_timeout = 1")
        started = time.monotonic()
        done = sync(tmp_path, host)
        took = time.monotonic() - started
        failed_requests = sum(n for status, n in host.statuses.items() if status != 200)

    print(f"40 images, {failed_requests} failed requests, {took:.1f}s")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert failed_requests >= 4  # the faults did happen (about 1 in 5 of ~50 requests)
    stored = stored_by_md5(host)
    assert len(stored) == 40 and set(stored.values()) == {1}  # every image once, none twice
    assert len(cache_entries(tmp_path)) == 40
    assert_all_rewritten(tmp_path, 40)
    assert "retrying in" in done.stderr


def test_a_host_allowing_10_requests_per_3_seconds_with_reset_headers(tmp_path: Path) -> None:
    with FakeLsky(token=TOKEN, rate_limit=10, rate_window=3.0, reset_header=True) as host:
        make_blog(tmp_path, images=40)
        started = time.monotonic()
        done = sync(tmp_path, host)
        took = time.monotonic() - started
        too_many = host.statuses[429]

    print(f"40 images at 10 a 3 s window: {took:.1f}s, {too_many} replies of 429")
    assert done.returncode == 0, done.stderr
    assert took < 40
    assert too_many <= 5
    assert set(stored_by_md5(host).values()) == {1} and len(stored_by_md5(host)) == 40
    assert_all_rewritten(tmp_path, 40)


def test_bare_429s_are_backed_off_without_a_storm(tmp_path: Path) -> None:
    # Lsky itself: X-RateLimit-Limit/Remaining, no reset time, no Retry-After on the 429.
    with FakeLsky(token=TOKEN, rate_limit=10, rate_window=2.0) as host:
        make_blog(tmp_path, images=30, settings="rate_limit_backoff = 0.5\nrate_limit_wait = 4")
        done = sync(tmp_path, host)
        too_many = host.statuses[429]

    print(f"30 images, bare 429s: {too_many} replies of 429")
    assert done.returncode == 0, done.stderr
    # Remaining 0 with no reset time: backed off before sending, or after a 429 if a burst
    # already in flight spent the budget.
    waited = r"(request limit \(10 a window\) is used up|slow down \(HTTP 429\)).*; waiting 0\.5s"
    assert re.search(waited, done.stderr)
    assert too_many <= 10  # the probe goes alone: about one 429 a backoff, not one a worker
    assert len(stored_by_md5(host)) == 30
    assert_all_rewritten(tmp_path, 30)


def test_two_syncs_at_once_upload_each_image_once(tmp_path: Path) -> None:
    with FakeLsky(token=TOKEN, rate_limit=None, latency=0.1) as host:
        make_blog(tmp_path, images=30, per_post=3)
        runs = [
            subprocess.Popen(
                [IMGSYNC, "."],
                cwd=tmp_path,
                env=env_for(host),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
        stored = stored_by_md5(host)

    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
        assert "Traceback" not in stderr
    assert len(stored) == 30 and set(stored.values()) == {1}
    entries = cache_entries(tmp_path)
    assert len(entries) == 30
    assert_all_rewritten(tmp_path, 30)
    # Both took part: the second found images the first had claimed (or the reverse).
    assert any("uploaded meanwhile by another imgsync" in err for _, err in outputs) or any(
        "nothing to do" in err or "0 uploaded" in err for _, err in outputs
    )


def test_ctrl_c_records_what_finished_rewrites_it_and_says_so(tmp_path: Path) -> None:
    with FakeLsky(token=TOKEN, rate_limit=None, latency=0.4) as host:
        make_blog(tmp_path, images=20, settings="jobs = 2")
        process = subprocess.Popen(
            [IMGSYNC, "."],
            cwd=tmp_path,
            env=env_for(host),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        seen: list[str] = []
        while not any(line.startswith("uploaded ") for line in seen):
            line = process.stderr.readline()
            assert line, "the sync ended before its first upload"
            seen.append(line)
        interrupted_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
        stopped_in = time.monotonic() - interrupted_at
        stderr = "".join(seen) + rest
        stored = stored_by_md5(host)

        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert stopped_in < 2  # the uploads in flight (0.4 s each) finish, no new ones start
        assert "interrupted: " in stderr
        entries = cache_entries(tmp_path)
        assert 1 <= len(entries) < 20
        assert len(stored) == len(entries)  # every upload that finished was recorded
        text = "".join(p.read_text() for p in (tmp_path / "posts").glob("*.md"))
        remote = re.findall(r"!\[fig (\d+)\]\(http://", text)
        local = re.findall(r"!\[fig (\d+)\]\(\.\./img/", text)
        assert len(remote) == len(entries) and len(remote) + len(local) == 20

        again = sync(tmp_path, host)
        assert again.returncode == 0, again.stderr
        assert set(stored_by_md5(host).values()) == {1} and len(stored_by_md5(host)) == 20
    assert_all_rewritten(tmp_path, 20)


@pytest.mark.slow
def test_a_hanging_host_costs_one_read_timeout_per_attempt_and_then_fails_clearly(
    tmp_path: Path,
) -> None:
    with FakeLsky(token=TOKEN, rate_limit=None, fault_rate=1.0, random_faults=("hang",)) as host:
        make_blog(tmp_path, images=1, settings="read_timeout = 0.5\nmax_attempts = 2")
        started = time.monotonic()
        done = sync(tmp_path, host)
        took = time.monotonic() - started

    assert done.returncode == 3
    assert "did not answer in time; gave up after 2 attempts" in done.stderr
    assert "posts/p000.md:3" in done.stderr
    assert took < 10


def test_other_cores_give_the_same_files_as_one_core(tmp_path: Path) -> None:
    # The same tree synced with worker processes for parsing and writing back, and without.
    outcomes = []
    for name, threshold in (("parallel", "0"), ("serial", "999999999")):
        root = tmp_path / name
        with FakeLsky(token=TOKEN, rate_limit=None, latency=0.05) as host:
            make_blog(root, images=24, per_post=3)
            (root / "posts" / "p000.md").write_text(
                "```\n![quoted](../img/0.png)\n```\n\n![fig 0](../img/0.png)\n"
                "![missing](../img/none.png)\n"
            )
            env = {**env_for(host), "IMGSYNC_PARALLEL_FROM_CHARS": threshold}
            done = subprocess.run(
                [IMGSYNC, "."], cwd=root, env=env, capture_output=True, text=True, timeout=120
            )
        texts = {p.name: p.read_text() for p in (root / "posts").glob("*.md")}
        outcomes.append((done.returncode, texts, done.stderr))
    (code_a, texts_a, err_a), (code_b, texts_b, err_b) = outcomes
    assert code_a == code_b == 3  # the missing image
    assert "Traceback" not in err_a + err_b
    # URLs differ between the two fake hosts only by their port.
    strip = functools.partial(re.sub, r"127\.0\.0\.1:\d+", "HOST")
    assert {k: strip(v) for k, v in texts_a.items()} == {k: strip(v) for k, v in texts_b.items()}
    assert "../img/" not in "".join(v for k, v in texts_a.items() if k != "p000.md")
    assert strip(texts_a["p000.md"]).count("HOST") == 1
