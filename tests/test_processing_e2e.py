"""End to end: processing before upload (resize, WebP) with the real console script and the fake
Lsky, the hosted bytes fetched back; the settings recorded in the cache, --reprocess to resend.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from imgsync.testing.fake_lsky import FakeLsky

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "7|processingTokenThatMustNeverBePrintedAnywhere"


@pytest.fixture
def lsky() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def run(cwd: Path, *args: str, shadow: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_", "CI"))}
    env.update(LSKY_TOKEN=TOKEN, NO_PROXY="127.0.0.1")
    if shadow is not None:  # a folder whose PIL package hides the installed Pillow
        env["PYTHONPATH"] = str(shadow)
    done = subprocess.run(
        [IMGSYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


def wide_png() -> bytes:
    """A 2000 x 500 PNG with a gradient, so that quality changes the encoded bytes."""
    image = Image.new("RGB", (2000, 500))
    image.putdata([(x % 256, (x // 8) % 256, y % 256) for y in range(500) for x in range(2000)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def configure(root: Path, url: str, quality: int) -> None:
    (root / "imgsync.toml").write_text(
        f'host = "blog"\nconvert = "webp"\nmax_width = 800\nquality = {quality}\n'
        f'[hosts.blog]\ntype = "lsky"\nurl = "{url}"\ntoken = "${{LSKY_TOKEN}}"\n'
    )


def post(root: Path, name: str) -> str:
    """A new post using the image; the URL it holds once synced is returned by `hosted_url`."""
    (root / f"{name}.md").write_text(f"# {name}\n\n![wide](img/wide.png)\n")
    return name


def hosted_url(root: Path, name: str) -> str:
    found = re.findall(r"!\[wide\]\((\S+)\)", (root / f"{name}.md").read_text())
    assert len(found) == 1 and found[0].startswith("http"), found
    return str(found[0])


def test_a_wide_png_goes_up_as_an_800_px_webp_once_and_again_only_with_reprocess(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    original = wide_png()
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "wide.png").write_bytes(original)
    configure(tmp_path, lsky.url, quality=80)
    post(tmp_path, "first")

    done = run(tmp_path, ".")
    assert done.returncode == 0, done.stderr
    assert len(lsky.uploads) == 1 and lsky.uploads[0].filename == "wide.webp"
    assert re.search(r"uploaded img/wide.png -> \S+ \(sent as webp 800x200\)", done.stderr)
    with httpx.Client(trust_env=False) as http:
        served = http.get(hosted_url(tmp_path, "first")).content
    with Image.open(io.BytesIO(served)) as image:
        assert image.format == "WEBP" and image.size == (800, 200)
        assert "exif" not in image.info and "xmp" not in image.info
    assert (tmp_path / "img" / "wide.png").read_bytes() == original  # the file is untouched
    entry = next(
        iter(json.loads((tmp_path / ".imgsync-cache.json").read_text())["uploads"].values())
    )
    recorded = entry[hashlib.md5(original).hexdigest()]  # keyed by the file on disk
    assert recorded["sent_sha256"] == hashlib.sha256(served).hexdigest()
    assert recorded["processing"] == "convert=webp,max_width=800,quality=80"
    assert not list((tmp_path / ".imgsync" / "processed").iterdir())  # temp copies gone

    post(tmp_path, "second")  # the same image in a new post: the same settings, nothing sent
    again = run(tmp_path, ".")
    assert again.returncode == 0, again.stderr
    assert len(lsky.uploads) == 1 and "0 uploaded, 1 already on the host" in again.stderr
    assert hosted_url(tmp_path, "second") == hosted_url(tmp_path, "first")

    configure(tmp_path, lsky.url, quality=50)
    post(tmp_path, "third")
    told = run(tmp_path, ".")
    assert told.returncode == 0, told.stderr
    assert len(lsky.uploads) == 1  # only told: the upload made with quality 80 is used
    assert hosted_url(tmp_path, "third") == hosted_url(tmp_path, "first")
    assert "1 image(s) were uploaded with other processing settings" in told.stderr
    assert "--reprocess uploads them again" in told.stderr

    first_url = hosted_url(tmp_path, "first")
    preview = run(tmp_path, ".", "--reprocess", "--dry-run")
    assert preview.returncode == 1 and len(lsky.uploads) == 1, preview.stderr
    for name in ("first", "second", "third"):  # hosted, with quality 80: each would move
        assert f"{name}.md:3: {first_url}" in preview.stdout
    assert "3 image reference(s) in 3 file(s) would be rewritten, 1 image(s) uploaded" in (
        preview.stderr
    )

    post(tmp_path, "fourth")
    resent = run(tmp_path, ".", "--reprocess")
    assert resent.returncode == 0, resent.stderr
    assert len(lsky.uploads) == 2 and "1 uploaded" in resent.stderr
    assert "4 link(s) rewritten in 4 file(s)" in resent.stderr
    assert "other processing settings" not in resent.stderr
    new_url = hosted_url(tmp_path, "fourth")
    assert new_url != first_url
    for name in ("first", "second", "third"):  # the posts synced before moved too, exactly
        assert (tmp_path / f"{name}.md").read_text() == f"# {name}\n\n![wide]({new_url})\n"
    with httpx.Client(trust_env=False) as http:
        smaller = http.get(new_url).content
    assert smaller != served and Image.open(io.BytesIO(smaller)).size == (800, 200)
    assert len(smaller) < len(served)  # quality 50

    post(tmp_path, "fifth")  # recorded with today's settings: --reprocess sends nothing more
    assert run(tmp_path, ".", "--reprocess").returncode == 0 and len(lsky.uploads) == 2


def one_post_with_the_wide_image(root: Path, lsky: FakeLsky) -> None:
    """img/wide.png and first.md using it, configured for quality 80, not synced yet."""
    (root / "img").mkdir()
    (root / "img" / "wide.png").write_bytes(wide_png())
    configure(root, lsky.url, quality=80)
    post(root, "first")


def test_reprocess_leaves_a_hosted_image_whose_original_is_gone_and_says_so(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    one_post_with_the_wide_image(tmp_path, lsky)
    assert run(tmp_path, ".").returncode == 0 and len(lsky.uploads) == 1
    synced = (tmp_path / "first.md").read_bytes()

    (tmp_path / "img" / "wide.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"changed" * 10)
    configure(tmp_path, lsky.url, quality=50)
    done = run(tmp_path, ".", "--reprocess")
    assert done.returncode == 0, done.stderr
    assert len(lsky.uploads) == 1 and (tmp_path / "first.md").read_bytes() == synced
    assert "warning: first.md:3: " in done.stderr
    assert "was uploaded with other processing settings than today's" in done.stderr
    assert "img/wide.png) has changed since; its hosted copy stays linked" in done.stderr

    (tmp_path / "img" / "wide.png").unlink()
    gone = run(tmp_path, ".", "--reprocess")
    assert gone.returncode == 0 and len(lsky.uploads) == 1
    assert "(img/wide.png) cannot be read: No such file or directory" in gone.stderr


def test_a_change_of_settings_is_told_once_even_when_every_reference_is_hosted(
    tmp_path: Path, lsky: FakeLsky
) -> None:
    one_post_with_the_wide_image(tmp_path, lsky)
    assert "changed since" not in run(tmp_path, ".").stderr  # a first run: nothing to compare
    assert "nothing to do" in (same := run(tmp_path, ".").stderr) and "changed" not in same

    configure(tmp_path, lsky.url, quality=50)
    told = run(tmp_path, ".")
    assert told.returncode == 0 and len(lsky.uploads) == 1
    assert (
        "warning: imgsync.toml: the processing settings of 'blog' changed since its last run"
        " (from convert=webp,max_width=800,quality=80 to convert=webp,max_width=800,quality=50):"
        " images already uploaded keep theirs; `imgsync --reprocess` uploads them again"
    ) in told.stderr
    assert "changed since" not in run(tmp_path, ".").stderr  # told once
    (tmp_path / "imgsync.toml").write_text(
        f'host = "blog"\n[hosts.blog]\ntype = "lsky"\nurl = "{lsky.url}"\n'
        'token = "${LSKY_TOKEN}"\n'
    )
    assert "to none)" in run(tmp_path, ".").stderr  # processing turned off is a change too


def test_a_config_asking_for_avif_without_pillow_support_or_bad_values_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "imgsync.toml").write_text('quality = 101\n[hosts.b]\ntype = "lsky"\n')
    done = run(tmp_path, "check")
    assert done.returncode == 2 and "`quality` must be a whole number from 1 to 100" in done.stderr
    (tmp_path / "imgsync.toml").write_text('[hosts.b]\ntype = "lsky"\nconvert = "gif"\n')
    done = run(tmp_path, "check")
    assert done.returncode == 2 and "`hosts.b.convert` must be" in done.stderr


def test_without_pillow_a_config_asking_for_processing_says_how_to_install_it(
    tmp_path: Path,
) -> None:
    shadow = tmp_path / "shadow" / "PIL"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named PIL')\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "imgsync.toml").write_text('[hosts.b]\ntype = "lsky"\nmax_width = 800\n')
    done = run(project, "check", shadow=shadow.parent)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "`hosts.b.max_width`: processing images needs Pillow" in done.stderr
    assert "pip install 'imgsync[images]'" in done.stderr
    (project / "imgsync.toml").write_text('[hosts.b]\ntype = "lsky"\n')
    assert run(project, "check", shadow=shadow.parent).returncode == 0  # not asked: no need

    (shadow / "__init__.py").write_text("")  # a Pillow built without AVIF
    (shadow / "features.py").write_text("def check(name):\n    return name != 'avif'\n")
    (project / "imgsync.toml").write_text('convert = "avif"\n[hosts.b]\ntype = "lsky"\n')
    done = run(project, "check", shadow=shadow.parent)
    assert done.returncode == 2 and "`convert`: processing images asks for AVIF" in done.stderr
