"""SIGKILL a real sync at random moments: files and cache stay whole, nothing is lost."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "3|crashTestTokenXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
JOBS = 4


def make_tree(root: Path, posts: int, images_per_post: int) -> None:
    (root / "img").mkdir(parents=True)
    for post in range(posts):
        lines = [f"# Post {post}\r\n", "\r\n"]
        for index in range(images_per_post):
            number = post * images_per_post + index
            (root / "img" / f"{number}.png").write_bytes(png_bytes(2, 2, (number, 7, 9)))
            lines.append(f'Figure {number}: ![fig {number}](../img/{number}.png "t")  \r\n')
        (root / "posts").mkdir(exist_ok=True)
        (root / "posts" / f"p{post}.md").write_bytes("".join(lines).encode())
    (root / "imgsync.toml").write_text(
        f'jobs = {JOBS}\n[hosts.main]\ntype = "lsky"\nurl = "${{LSKY_BASE_URL}}"\n'
        'token = "${LSKY_TOKEN}"\n'
    )


def env_for(host: FakeLsky) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSKY_")}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=TOKEN)
    return env


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    print(f"random seed {seed}")
    chance = random.Random(seed)
    with FakeLsky(token=TOKEN, latency=0.1, rate_limit=None) as host:
        reference, work = tmp_path / "reference", tmp_path / "work"
        make_tree(reference, posts=15, images_per_post=4)
        shutil.copytree(reference, work)
        original = {p.relative_to(work): p.read_bytes() for p in work.rglob("*.md")}
        # The finished result, from an undisturbed run on a copy (same host: same URLs).
        done = subprocess.run([IMGSYNC, "."], cwd=reference, env=env_for(host), timeout=120)
        assert done.returncode == 0
        final = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*.md")}
        assert final != original
        distinct = len(host.uploads)
        before_kills = len(host.uploads)

        kills = attempts = 0
        while kills < 5:
            attempts += 1
            assert attempts <= 30, "the sync kept finishing before it could be killed"
            process = subprocess.Popen(
                [IMGSYNC, "."],
                cwd=work,
                env=env_for(host),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(chance.uniform(0.05, 0.5))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait(timeout=60)
            for name, data in original.items():
                now = (work / name).read_bytes()
                assert now in (data, final[name]), f"{name} is neither original nor rewritten"
            cache = work / ".imgsync-cache.json"
            if cache.exists():
                json.loads(cache.read_text())

        finish = subprocess.run([IMGSYNC, "."], cwd=work, env=env_for(host), timeout=120)
        assert finish.returncode == 0
        assert {p.relative_to(work): p.read_bytes() for p in work.rglob("*.md")} == final
        uploads_for_work = len(host.uploads) - before_kills
        repeated = uploads_for_work - distinct
        print(
            f"{kills} kills, {uploads_for_work} uploads for {distinct} images, {repeated} repeated"
        )
        # What a kill can lose: the requests in the JOBS slots, and the replies that gave
        # their slot back and were still being recorded (a journal fsync) by the other
        # JOBS workers (transfer/pool.py): at most twice JOBS uploads a kill.
        assert repeated <= kills * 2 * JOBS
        # And nothing recorded is lost: each image is recorded once, whatever was killed.
        journal = work / ".imgsync" / ".imgsync-cache.json.journal"
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        assert len([r for r in records if "entry" in r]) == distinct
