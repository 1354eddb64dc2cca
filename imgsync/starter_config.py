"""The commented imgsync.toml that `imgsync init` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import CACHE_NAME, DEFAULT_EXCLUDE, DEFAULT_INCLUDE, DEFAULT_JOBS
from .errors import ConfigError
from .files import atomic_write


def starter_config() -> str:
    """The text `imgsync init` writes: commented, valid, Lsky Pro by default."""
    lsky = {"type": "lsky", "url": "${LSKY_BASE_URL}", "token": "${LSKY_TOKEN}"}
    values: dict[str, Any] = {
        "host": "lsky",
        "cache": CACHE_NAME,
        "include": list(DEFAULT_INCLUDE),
        "exclude": list(DEFAULT_EXCLUDE),
        "jobs": DEFAULT_JOBS,
        "ignore": [],
        "hosts": {"lsky": lsky},
    }
    # tomli_w writes the values, so they are valid TOML whatever they hold; notes go between.
    import tomli_w  # only `imgsync init` writes TOML: no other run loads it

    parts = [_NOTES[key] + tomli_w.dumps({key: value}) for key, value in values.items()]
    return _NOTES["top"] + "\n".join(parts)


def write_starter_config(path: Path, *, force: bool) -> None:
    """Write starter_config() to `path`; an existing file is kept unless `force`."""
    if path.exists() and not force:
        raise ConfigError(
            "already exists; edit it, or run `imgsync init --force` to replace it", path
        )
    atomic_write(path, starter_config().encode("utf-8"))


_NOTES = {
    "top": "# imgsync: upload the local images of Markdown files and rewrite the references.\n"
    "# Every path here is relative to this file.\n\n",
    "host": "# The profile under [hosts] to use when --host is not given.\n",
    "cache": "# Records every upload. Commit it: teammates and CI then never upload twice.\n",
    "include": "# What `imgsync` with no PATH covers (default: this file's folder):\n"
    '# paths = ["content"]\n\n'
    "# The Markdown files to look at, and the ones to skip.\n",
    "exclude": "",
    "jobs": "# Uploads running at once.\n",
    "ignore": "# References left alone on purpose, such as an image that is really gone: globs,\n"
    '# each "IMAGE" (the path as written, or the project path it points to) or\n'
    '# "FILE:IMAGE" (only in those Markdown files). They are counted, never failures;\n'
    "# one that matches nothing is a warning. In a post, <!-- imgsync-ignore -->\n"
    "# ignores the next image reference (docs/input.md says more). For example:\n"
    '# ignore = ["img/gone.png", "posts/2019/*.md:**/screenshot-*.png"]\n',
    "hosts": '# Where rooted paths such as "/images/a.png" are looked up, and the largest\n'
    "# image to upload (the host's own limit applies as well):\n"
    '# site_root = "static"\n# max_size = "5MB"\n'
    "# GPS and place names are stripped from JPEG, PNG and WebP before upload,\n"
    '# losslessly; "all" keeps only orientation and colour profile, "none" sends\n'
    "# the file as it is (docs/privacy.md):\n"
    '# strip_metadata = "location"\n\n'
    "# Lsky Pro. ${VAR} is read from the environment, so the token stays out of\n"
    "# this file (it works in the token, and in a url that is one variable whole);\n"
    "# add a [hosts.NAME] table for each other host.\n",
}
