"""Processing before upload (processing.py) on real files: orientation, size, modes, determinism;
the settings merged from the config and a profile; the label the cache entry keeps."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from imgsync.cache import CacheEntry, utc_now
from imgsync.config import load_settings
from imgsync.processing import Processing, process, processing_of


def saved(path: Path, image: Image.Image, exif: bytes = b"") -> Path:
    image.save(path, exif=exif) if exif else image.save(path)
    return path


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", (width, height))
    image.putdata([(x % 256, y % 256, (x + y) % 256) for y in range(height) for x in range(width)])
    return image.convert(mode)


def test_the_same_image_and_settings_give_the_same_bytes(tmp_path: Path) -> None:
    path = saved(tmp_path / "wide.png", gradient(2000, 300))
    asked = Processing(max_width=800, convert="webp", quality=70)
    first, second = (process(path, "image/png", asked, tmp_path) for _ in range(2))
    assert first is not None and second is not None and first.path != second.path
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 and first.mime == "image/webp"
    assert first.extension == ".webp" and first.size == first.path.stat().st_size


def test_never_upscaled_and_nothing_done_to_an_image_that_fits_its_own_format(
    tmp_path: Path,
) -> None:
    path = saved(tmp_path / "small.png", gradient(300, 200))
    assert process(path, "image/png", Processing(max_width=4000), tmp_path) is None
    done = process(path, "image/png", Processing(max_width=4000, convert="jpeg"), tmp_path)
    assert done is not None and Image.open(done.path).size == (300, 200)
    gif = saved(tmp_path / "a.gif", gradient(900, 10, "P"))
    assert process(gif, "image/gif", Processing(max_width=100), tmp_path) is None


def test_the_exif_orientation_is_applied_before_resizing_and_not_written(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # turned 90 degrees clockwise to be seen upright
    path = saved(tmp_path / "phone.jpg", gradient(1000, 500), exif=exif.tobytes())
    done = process(path, "image/jpeg", Processing(max_width=250, convert="webp"), tmp_path)
    assert done is not None
    with Image.open(done.path) as image:
        assert image.size == (250, 500)  # upright (500 x 1000), then scaled to 250 wide
        assert 0x0112 not in image.getexif() and "exif" not in image.info


def test_transparency_is_kept_in_webp_and_flattened_on_white_in_jpeg(tmp_path: Path) -> None:
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    path = saved(tmp_path / "clear.png", clear)
    webp = process(path, "image/png", Processing(convert="webp"), tmp_path)
    jpeg = process(path, "image/png", Processing(convert="jpeg"), tmp_path)
    assert webp is not None and jpeg is not None
    assert Image.open(webp.path).convert("RGBA").getpixel((5, 5)) == (0, 0, 0, 0)
    assert Image.open(jpeg.path).getpixel((5, 5)) == (255, 255, 255)
    assert Image.open(io.BytesIO(jpeg.path.read_bytes())).format == "JPEG"


def test_a_profile_key_wins_over_the_global_one_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_text(
        'convert = "webp"\nmax_width = 800\nquality = 70\n'
        '[hosts.a]\ntype = "lsky"\n[hosts.b]\ntype = "lsky"\nconvert = "jpeg"\nmax_height = 600\n'
    )
    settings = load_settings(cwd=tmp_path, env={})
    assert processing_of(settings, settings.hosts["a"]).label == (
        "convert=webp,max_width=800,quality=70"
    )
    assert processing_of(settings, settings.hosts["b"]) == Processing(800, 600, "jpeg", 70)
    assert "convert" not in settings.hosts["b"].options  # never seen by the host's own checks
    assert Processing().label is None and not Processing().active


def test_the_cache_entry_keeps_the_processing_label_and_refuses_a_bad_one() -> None:
    entry = CacheEntry("https://h.example/i/a.webp", {}, 10, "a" * 64, utc_now(), "a.png")
    assert "processing" not in entry.to_json()
    processed = replace(entry, processing="convert=webp")
    assert processed.to_json()["processing"] == "convert=webp"
    assert CacheEntry.from_json(processed.to_json()) == processed
    with pytest.raises(ValueError, match='"processing"'):
        CacheEntry.from_json({**entry.to_json(), "processing": 3})
