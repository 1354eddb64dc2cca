"""The sample blog synced by the real console script into a real S3 API (moto's server, IAM on,
behind the counting proxy of imgsync/testing/fake_s3.py), then checked and pruned."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgsync.testing.fake_s3 import S3Proxy

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DISTINCT_IMAGES = 5  # six files under examples/, two of them the same bytes
CONFIG = """
host = "bucket"
site_root = "static"

[hosts.bucket]
type = "s3"
endpoint = "${{S3_ENDPOINT}}"
bucket = "{bucket}"
prefix = "blog/"
access_key = "${{S3_ACCESS_KEY}}"
secret_key = "${{S3_SECRET_KEY}}"
"""


@pytest.fixture
def fake() -> Iterator[S3Proxy]:
    with S3Proxy() as server:
        yield server


@pytest.fixture
def blog(tmp_path: Path, fake: S3Proxy) -> Path:
    root = tmp_path / "blog"
    shutil.copytree(EXAMPLES, root)
    (root / "imgsync.toml").write_text(CONFIG.format(bucket=fake.bucket))
    return root


def run(
    root: Path,
    fake: S3Proxy,
    *args: str,
    secret: str | None = None,
    shadow: Path | None = None,
    keys: bool = True,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "AWS_"))}
    env.update(S3_ENDPOINT=fake.url, NO_PROXY="127.0.0.1")
    if keys:
        env.update(S3_ACCESS_KEY=fake.keys[0], S3_SECRET_KEY=secret or fake.keys[1])
    if shadow is not None:  # a folder whose botocore package hides the installed one
        env["PYTHONPATH"] = str(shadow)
    done = subprocess.run(
        [IMGSYNC, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    shown = done.stdout + done.stderr
    assert fake.keys[1] not in shown and fake.keys[0] not in shown
    assert "Traceback" not in shown
    return done


def cached(root: Path) -> dict[str, Any]:
    uploads = json.loads((root / ".imgsync-cache.json").read_text())["uploads"]
    entries: dict[str, Any] = next(v for k, v in uploads.items() if k.startswith("s3 "))
    return entries


def test_the_blog_is_synced_once_checked_and_pruned_exactly(blog: Path, fake: S3Proxy) -> None:
    first = run(blog, fake, ".")

    assert first.returncode == 0, first.stderr
    assert fake.puts == DISTINCT_IMAGES
    keys = fake.stored()
    assert len(keys) == DISTINCT_IMAGES and all(key.startswith("blog/") for key in keys)
    texts = "".join(p.read_text() for p in blog.rglob("*.md"))
    assert texts.count(f"{fake.url}/{fake.bucket}/blog/") == 10  # every local reference
    cache = (blog / ".imgsync-cache.json").read_text()
    assert fake.keys[0] not in cache and fake.keys[1] not in cache
    assert sorted(entry["handle"]["key"] for entry in cached(blog).values()) == sorted(keys)

    requests = fake.requests
    second = run(blog, fake, ".")
    assert second.returncode == 0, second.stderr
    assert fake.requests == requests  # 0 uploads: the cache answers, not even a HEAD
    assert run(blog, fake, "check", ".").returncode == 0
    # A scheduled verify without the keys still knows the bucket's URLs as hosted.
    verified = run(blog, fake, "verify", "--allow-private-addresses", keys=False)
    assert verified.returncode == 0, verified.stderr
    said = verified.stdout + verified.stderr
    assert f"{DISTINCT_IMAGES} image URL(s) checked for 10 reference(s)" in said, said

    # A stranger's object under the prefix, with a name imgsync could have made: not in
    # the cache, so prune never touches it.
    stranger = "blog/" + "0" * 32 + ".png"
    fake.moto.s3.put_object(Bucket=fake.bucket, Key=stranger, Body=b"someone else's")
    gone = unreference(blog, cached(blog), 2)

    pruned = run(blog, fake, "prune", "--older-than", "0d", "--yes")

    assert pruned.returncode == 0, pruned.stderr
    assert "deleted 2 upload(s)" in pruned.stdout
    assert sorted(fake.stored()) == sorted(set(keys) - gone | {stranger})
    assert fake.methods["DELETE object"] == 2
    assert run(blog, fake, "check", ".").returncode == 0


def unreference(blog: Path, entries: dict[str, Any], count: int) -> set[str]:
    """Remove every line showing the first `count` uploads; their keys."""
    chosen = sorted(entries.values(), key=lambda entry: str(entry["url"]))[:count]
    for page in blog.rglob("*.md"):
        lines = page.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not any(e["url"] in line for e in chosen)]
        page.write_text("".join(kept))
    return {entry["handle"]["key"] for entry in chosen}


def test_wrong_keys_stop_the_run_with_one_message_and_no_retry_storm(
    blog: Path, fake: S3Proxy
) -> None:
    original = {p: p.read_bytes() for p in blog.rglob("*.md")}

    done = run(blog, fake, ".", secret="wrongSecretKeyWWWWWWWWWWWWWWWWWWWWWWWWWW")

    assert done.returncode != 0
    assert "the S3 server refused the credentials" in done.stderr
    assert "(from ${S3_SECRET_KEY})" in done.stderr
    # At most the HEADs already in flight when the first refusal came; none retried.
    assert 1 <= fake.requests <= DISTINCT_IMAGES and fake.puts == 0
    assert {p: p.read_bytes() for p in blog.rglob("*.md")} == original


def test_without_the_s3_extra_the_profile_is_a_config_error(
    blog: Path, fake: S3Proxy, tmp_path: Path
) -> None:
    shadow = tmp_path / "shadow" / "botocore"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named botocore')\n")

    done = run(blog, fake, ".", shadow=shadow.parent)

    assert done.returncode == 2, done.stderr
    assert "host profile 'bucket' has type 's3', which needs the S3 library" in done.stderr
    assert "pip install 'imgsync[s3]'" in done.stderr
    assert fake.requests == 0


def test_doctor_checks_the_keys_with_one_listing(blog: Path, fake: S3Proxy) -> None:
    good = run(blog, fake, "doctor")

    assert good.returncode == 0, good.stdout + good.stderr
    assert "the S3 server accepted the credentials (listed bucket" in good.stdout
    assert fake.methods == {"GET bucket": 1}

    bad = run(blog, fake, "doctor", secret="wrongSecretKeyWWWWWWWWWWWWWWWWWWWWWWWWWW")

    assert bad.returncode != 0
    said = bad.stdout + bad.stderr
    assert "the S3 server refused the credentials when asked to list the bucket" in said
    assert "SignatureDoesNotMatch" in said
    assert fake.methods == {"GET bucket": 2}
