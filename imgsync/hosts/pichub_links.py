"""PicHub's processing URLs: the `transform` option, and the link it makes of a hosted URL.

PicHub resizes and converts on the fly when an image's URL carries `w`, `h`, `q`, `fit`
and `fm` (its API page: `https://cdn.pichub.app/{image_id}.webp?w=800&h=600&fit=cover`).
The cache keeps the URL the upload gave; only the link written into Markdown (and
printed by `imgsync upload`) carries the parameters. So an image uploaded before gets
them when a new reference to it is written, and changing them uploads nothing again.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from .options import ProfileOptions

MAX_SIDE = 10_000  # pixels: no web page shows more; a larger number is a typo
# The values PicHub's API page lists. (Its usage example also shows fit=crop, which its
# table of values does not: only the table's are taken.)
FITS = ("cover", "contain", "fill", "inside", "outside")
FORMATS = ("jpg", "png", "webp", "avif")
ORDER = ("w", "h", "q", "fit", "fm")  # the order the parameters are written in, always


def read_transform(options: ProfileOptions) -> dict[str, str]:
    """The `transform` table as query parameters, in a fixed order; {} when absent.

    ConfigError naming the key (e.g. 'transform.q') for anything PicHub would not take.
    """
    if "transform" not in options:
        return {}
    table = options.raw("transform")
    example = 'e.g. transform = { w = 800, q = 80, fit = "cover", fm = "webp" }'
    if not isinstance(table, Mapping):
        options.bad(f"'transform' must be a table of PicHub's processing parameters, {example}")
    unknown = sorted(str(key) for key in table if key not in ORDER)
    if unknown:
        options.bad(f"unknown key 'transform.{unknown[0]}' (known: {', '.join(ORDER)})")
    if not table:
        options.bad(f"'transform' is empty; remove it to link the plain URL, or set {example}")
    params: dict[str, str] = {}
    for key in ORDER:
        if key not in table:
            continue
        value = table[key]
        if key in ("w", "h", "q"):
            high = 100 if key == "q" else MAX_SIDE
            what = "quality" if key == "q" else "pixels"
            if type(value) is not int or not 1 <= value <= high:
                options.bad(f"'transform.{key}' must be a whole number from 1 to {high} ({what})")
            params[key] = str(value)
        else:
            choices = FITS if key == "fit" else FORMATS
            word = value.strip().lower() if isinstance(value, str) else ""
            if word not in choices:
                options.bad(f"'transform.{key}' must be one of {', '.join(choices)}")
            params[key] = word
    return params


def processing_url(url: str, params: Mapping[str, str]) -> str:
    """`url` with PicHub's processing parameters added to its query (before any fragment)."""
    if not params:
        return url
    base, hash_mark, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode(params)}{hash_mark}{fragment}"
