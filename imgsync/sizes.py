"""File sizes as people read them, one way for the whole package (hosts import it too)."""

from __future__ import annotations


def human_size(size: int) -> str:
    """`size` bytes as "812 bytes", "3.4 KB", "50.0 MB" or "1.2 GB" (1 KB = 1024 bytes)."""
    if size < 1024:
        return f"{size} bytes"
    value, unit = size / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"
