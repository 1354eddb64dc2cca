"""A host from another package joins through the `imgsync.hosts` entry points, and syncs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))

TOY_HOST = '''
"""A toy image host: "uploads" by copying into a bucket folder."""
import hashlib
import shutil
from pathlib import Path

from imgsync.hosts.base import UploadResult


class ToyHost:
    type_name = "toy"

    def __init__(self, profile, http):
        self.bucket = Path(profile.options["bucket"])
        self.identity = "toy " + str(self.bucket)
        self.max_size = None

    def upload(self, request):
        digest = hashlib.md5(request.path.read_bytes()).hexdigest()
        shutil.copyfile(request.path, self.bucket / (digest + request.filename[-4:]))
        return UploadResult(url=f"https://toy.invalid/{digest}.png", handle={"id": digest})
'''


def install_toy_package(site: Path) -> None:
    """What `pip install toy-imgsync-host` would leave: a module and its dist-info."""
    (site / "toy_imgsync_host.py").write_text(TOY_HOST)
    info = site / "toy_imgsync_host-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-imgsync-host\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[imgsync.hosts]\ntoy = toy_imgsync_host:ToyHost\n")


def test_an_entry_point_host_syncs_a_tree(tmp_path: Path) -> None:
    site, bucket, project = tmp_path / "site", tmp_path / "bucket", tmp_path / "project"
    for folder in (site, bucket, project):
        folder.mkdir()
    install_toy_package(site)
    (project / "a.png").write_bytes(png_bytes(2, 2))
    (project / "post.md").write_text("![a](a.png)\n")
    (project / "imgsync.toml").write_text(f'[hosts.mine]\ntype = "toy"\nbucket = "{bucket}"\n')
    env = {**os.environ, "PYTHONPATH": str(site)}

    done = subprocess.run(
        [IMGSYNC, "."], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert (project / "post.md").read_text().startswith("![a](https://toy.invalid/")
    assert len(list(bucket.iterdir())) == 1
    cache = (project / ".imgsync-cache.json").read_text()
    assert f'"toy {bucket}"' in cache and '"id"' in cache


def test_an_unknown_type_lists_the_known_ones(tmp_path: Path) -> None:
    site, project = tmp_path / "site", tmp_path / "project"
    site.mkdir()
    project.mkdir()
    install_toy_package(site)
    (project / "a.png").write_bytes(png_bytes(2, 2))
    (project / "post.md").write_text("![a](a.png)\n")
    (project / "imgsync.toml").write_text('[hosts.mine]\ntype = "imgur"\n')
    env = {**os.environ, "PYTHONPATH": str(site)}

    done = subprocess.run(
        [IMGSYNC, "."], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2
    assert "has type 'imgur'; known types: chevereto, command, folder, lsky" in done.stderr
    assert "toy" in done.stderr
