"""Claims on images by MD5: one upload of an image at a time, across processes and threads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from imgsync.errors import OutsideProject
from imgsync.state.claims import UploadClaims

MD5 = "9e107d9d372bb6826bd81d3542a419d6"
OTHER = "e4d909c290d0fb1ca068ffaddf22cbd0"
HOLDER = """
import sys
from pathlib import Path
from imgsync.state.claims import UploadClaims
with UploadClaims(Path(sys.argv[1])).hold([sys.argv[2]]) as held:
    print("held" if held else "not held", flush=True)
    sys.stdin.read()
"""


def hold_in_another_process(path: Path, md5: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), md5],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def time_to_claim(claims: UploadClaims, md5: str, release: subprocess.Popen[str]) -> float:
    """Seconds this process waited for `md5` while `release` let go after 0.5 s."""
    assert release.stdin is not None
    threading.Timer(0.5, release.stdin.close).start()
    started = time.monotonic()
    with claims.hold([md5]) as held:
        assert held
        return time.monotonic() - started


def test_a_claim_held_by_another_process_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / ".imgsync" / "uploading.lock"
    holder = hold_in_another_process(path, MD5)
    claims = UploadClaims(path)

    with claims.hold([OTHER]) as held:  # another image: no wait
        assert held
    assert time_to_claim(claims, MD5, holder) >= 0.4
    holder.wait(timeout=10)


def test_a_stop_ends_the_wait_holding_nothing(tmp_path: Path) -> None:
    path = tmp_path / "uploading.lock"
    holder = hold_in_another_process(path, MD5)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    try:
        with UploadClaims(path).hold([MD5], stop=stop) as held:
            assert not held
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_threads_of_one_process_wait_for_each_other(tmp_path: Path) -> None:
    claims = UploadClaims(tmp_path / "uploading.lock")
    inside: list[int] = []
    most = [0]
    lock = threading.Lock()

    def upload() -> None:
        with claims.hold([MD5]) as held:
            assert held
            with lock:
                inside.append(1)
                most[0] = max(most[0], len(inside))
            time.sleep(0.05)
            with lock:
                inside.pop()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert most[0] == 1


def test_a_lock_file_removed_while_running_is_made_again_and_still_excludes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / ".imgsync"
    claims = UploadClaims(folder / "uploading.lock")
    with claims.hold([MD5]) as held:
        assert held
    shutil.rmtree(folder)  # someone cleans up while watch mode runs
    holder = hold_in_another_process(folder / "uploading.lock", MD5)

    assert time_to_claim(claims, MD5, holder) >= 0.4
    holder.wait(timeout=10)


def test_a_lock_file_linked_outside_is_not_created(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    state = tmp_path / "repo" / ".imgsync"
    state.mkdir(parents=True)
    (state / "uploading.lock").symlink_to(tmp_path / "outside" / "made.lock")
    claims = UploadClaims(state / "uploading.lock")

    with pytest.raises(OutsideProject), claims.hold(["0" * 32]):
        pass

    assert list((tmp_path / "outside").iterdir()) == []
