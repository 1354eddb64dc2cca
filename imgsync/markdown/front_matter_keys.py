"""The front matter keys imgsync reads images from: the defaults, and what a key may be.

Apart from front_matter.py, whose patterns take a while to compile, for the config to check
its keys without them (a run that reads no file needs none).
"""

from __future__ import annotations

import re

# What the themes and generators name their pictures: Hugo (`images`), PaperMod (`cover.image`),
# Jekyll's Minimal Mistakes (`header.*`), Open Graph setups (`og_image`, `social_image`), ...
DEFAULT_KEYS = (
    "image",
    "images",
    "cover",
    "cover.image",
    "featured_image",
    "featuredImage",
    "thumbnail",
    "banner",
    "og_image",
    "header.image",
    "header.teaser",
    "header.overlay_image",
    "feature",
    "feature_image",
    "hero",
    "social_image",
)
# A key imgsync can find: a bare name, or a table and a name (one level of nesting).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)?")
