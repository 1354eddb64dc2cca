"""The image on the clipboard, for the PicGo request that names no file.

A server has no clipboard of its own: it asks the desktop's tool, the first of these found on
PATH: `wl-paste` (Wayland), `xclip` (X11), `pngpaste` (macOS). Without one, or with no image on
the clipboard, the request fails with a message saying how to send the file instead.
"""

from __future__ import annotations

import shutil
import subprocess

# (program, arguments that print the clipboard's PNG on stdout)
TOOLS = (
    ("wl-paste", ("--no-newline", "--type", "image/png")),
    ("xclip", ("-selection", "clipboard", "-target", "image/png", "-out")),
    ("pngpaste", ("-",)),
)
DEADLINE = 10.0  # seconds a clipboard tool may take
MOST = 64 * 1024 * 1024  # bytes of image taken from the clipboard


class NoClipboard(Exception):
    """No clipboard reachable, or no image on it; the message says what to do."""


def clipboard_image() -> bytes:
    """The PNG bytes on the clipboard; NoClipboard when there are none to be had."""
    tried = []
    for program, arguments in TOOLS:
        found = shutil.which(program)
        if found is None:
            continue
        tried.append(program)
        try:
            done = subprocess.run(
                [found, *arguments], capture_output=True, timeout=DEADLINE, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout and len(done.stdout) <= MOST:
            return done.stdout
    if not tried:
        raise NoClipboard(
            "no clipboard is reachable from imgsync serve (none of wl-paste, xclip, pngpaste"
            " is installed): send the file instead, its path in `list` or as a form file"
        )
    raise NoClipboard(
        f"the clipboard holds no image ({', '.join(tried)} gave none): copy an image first,"
        " or send the file, its path in `list` or as a form file"
    )
