"""The `upload` figure of bench.py: 50 images through `imgsync upload` against its floor.

The floor is what no client can beat with `jobs` uploads at a time: one image's time (the
process starting, the first request alone) plus 50 x latency / jobs for the rest, both
measured in the same run, on the same fake Lsky answering in a fixed latency. Each run
uploads fresh images into a fresh folder, so no cache answers for the host.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from big_upload import write_image
from measure import IMGSYNC, run
from trees import CONFIG

from imgsync.config import DEFAULT_JOBS


@dataclass
class UploadFigure:
    images: int
    latency: float
    jobs: int
    one: float  # median seconds of `imgsync upload` of one image
    many: float  # median seconds of `imgsync upload` of `images` images
    peak_mb: float  # the highest peak RSS of the runs of many

    @property
    def floor(self) -> float:
        return self.one + self.images * self.latency / self.jobs

    @property
    def ratio(self) -> float:
        return self.many / self.floor


def upload_figure(
    folder: Path,
    env: dict[str, str],
    *,
    images: int,
    latency: float,
    jobs: int | None,
    runs: int,
) -> UploadFigure:
    """Interleaved runs of one image and of `images` images (the machine's speed wanders:
    both see the same conditions); `env` points at a fake host with that latency. `jobs`
    None: imgsync's default, as a user runs it."""
    jobs_flag = [] if jobs is None else ["--jobs", str(jobs)]
    ones: list[float] = []
    manys: list[float] = []
    peaks: list[float] = []
    plan: list[tuple[int, list[float]]] = [(1, [])]  # a first run, not counted: a cold start
    for _ in range(runs):
        plan += [(1, ones), (images, manys)]
    for n, (count, times) in enumerate(plan):
        place = folder / f"upload-{n}"
        place.mkdir(parents=True)
        (place / "imgsync.toml").write_text(CONFIG)
        names = [f"shot-{i:03}.png" for i in range(count)]
        for name in names:
            write_image(place / name, 20 * 1024)
        done = run([IMGSYNC, "upload", *jobs_flag, *names], place, env)
        times.append(done.seconds)
        if count == images:
            peaks.append(done.peak_mb)
    return UploadFigure(
        images,
        latency,
        jobs or DEFAULT_JOBS,
        statistics.median(ones),
        statistics.median(manys),
        max(peaks),
    )
