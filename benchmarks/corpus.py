"""Run imgsync on a copy of a real blog and report what it found, by form, and what it wrote.

    python benchmarks/corpus.py COPY [--config 'site_root = "static"'] [--include '**/*.mdx']

COPY is a folder you can let imgsync rewrite (a copy, never your only checkout). The script
counts every local reference by form (Markdown image, link, definition, each HTML attribute,
shortcode, front matter field, Obsidian embed) and every form told but not hosted, then syncs
the copy to a fake Lsky host on 127.0.0.1 with the real console script and proves, with a
byte diff independent of imgsync's own check, that each changed byte lies inside a reference
it reported; a second sync must send no upload, and `check` afterwards must list only what was
told. It prints figures; it exits 1 when a proof fails.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from imgsync.config import Settings, load_settings
from imgsync.discover import discover_markdown
from imgsync.markdown.text_file import read_markdown
from imgsync.scan import ImageRef, ScanResult, scan_markdown
from imgsync.testing.fake_lsky import DEFAULT_TOKEN, FakeLsky

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
HOSTS = '\n[hosts.fake]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("copy", type=Path)
    parser.add_argument("--config", default="", help="more lines for imgsync.toml")
    parser.add_argument("--include", action="append", default=[], help="more include globs")
    options = parser.parse_args()
    root = options.copy.resolve()
    include = ["**/*.md", "**/*.markdown", *options.include]
    config = f'host = "fake"\ninclude = {include!r}\n{options.config}\n{HOSTS}'
    (root / "imgsync.toml").write_text(config.replace("'", '"'), encoding="utf-8")
    settings = load_settings(cwd=root, env={})
    files, _ = discover_markdown(
        [root], root=root, include=settings.include, exclude=settings.exclude
    )
    before = {path: path.read_bytes() for path in files}
    scans = {path: _scan(path, settings) for path in files}
    _print_forms(scans, len(files))
    _print_unaccounted(scans, settings.root)

    with FakeLsky(token=DEFAULT_TOKEN, rate_limit=None) as host:
        first = _run(root, host)
        uploads, requests = len(host.uploads), host.requests
        second = _run(root, host)
        checked = _run(root, host, "check")
        print(f"\nfirst sync: exit {first.returncode} in {first.seconds:.1f} s, {uploads} uploads")
        print(
            f"second sync: exit {second.returncode} in {second.seconds:.1f} s, "
            f"{len(host.uploads) - uploads} uploads, {host.requests - requests} requests"
        )
        print(f"check: exit {checked.returncode}, {_last_line(checked.stderr)}")
        failures = _prove(before, scans, host.site)
        failures += [] if len(host.uploads) == uploads else ["the second sync uploaded again"]
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


def _scan(path: Path, settings: Settings) -> ScanResult:
    return scan_markdown(read_markdown(path).text, settings.front_matter_keys, settings.dialect)


def _form(ref: ImageRef) -> str:
    if ref.kind in ("html", "shortcode", "front_matter") and ref.attribute:
        name = "front matter" if ref.kind == "front_matter" else ref.kind
        return f"{name} {ref.attribute}" if ref.kind != "front_matter" else name
    return ref.kind


def _print_forms(scans: dict[Path, ScanResult], count: int) -> None:
    forms: collections.Counter[str] = collections.Counter()
    told: collections.Counter[str] = collections.Counter()
    problems = 0
    for scan in scans.values():
        forms.update(_form(ref) for ref in scan.local_refs)
        told.update(item.reason.split(" is ")[0].split(" tag ")[0][:60] for item in scan.unhandled)
        problems += len(scan.problems)
    with_refs = sum(1 for scan in scans.values() if scan.local_refs)
    total = sum(forms.values())
    print(f"{count} Markdown files, {with_refs} with local references: {total} references")
    for form, number in forms.most_common():
        print(f"  {number:6}  {form}")
    print(f"told, not hosted: {sum(told.values())}; other problems: {problems}")
    for form, number in told.most_common(12):
        print(f"  {number:6}  {form}")


# A name with an image's extension, anywhere in the text: what the audit looks for.
_IMAGE_NAME = re.compile(
    r"[^\s\"'()\[\]<>=`|{}]+\.(?:png|jpe?g|gif|svg|webp|avif|bmp)(?![\w/])", re.IGNORECASE
)


def _print_unaccounted(scans: dict[Path, ScanResult], root: Path) -> None:
    """The audit: names of image files outside code that no reference, told form or problem
    covers, with the file and line of a few. Each is silence to explain (a remote URL, prose
    about a file, a form not read yet)."""
    from imgsync.markdown.parser import parse_blocks

    found: list[str] = []
    for path, scan in scans.items():
        text = read_markdown(path).text
        covered = [ref.text_span or (ref.start, ref.end) for ref in scan.refs]
        told_lines = {item.line for item in scan.unhandled} | {p.line for p in scan.problems}
        told_images = {item.image for item in scan.unhandled}
        code_lines = set()
        for token in parse_blocks(text, {}):
            if token.type in ("fence", "code_block") and token.map:
                code_lines.update(range(token.map[0] + 1, token.map[1] + 1))
        for match in _IMAGE_NAME.finditer(text):
            name = match.group()
            if re.match(r"(?:[a-z][a-z0-9+.-]*:|//)", name, re.IGNORECASE):
                continue  # a URL with a scheme: not local
            line = text.count("\n", 0, match.start()) + 1
            if line in code_lines or line in told_lines or name.strip("'\"") in told_images:
                continue
            if any(start <= match.start() < end for start, end in covered):
                continue
            start_of_line = text.rfind("\n", 0, match.start()) + 1
            if text.count("`", start_of_line, match.start()) % 2:
                continue  # in a code span, most likely
            end_of_line = text.find("\n", match.start())
            shown = text[start_of_line : end_of_line if end_of_line >= 0 else len(text)]
            found.append(f"{path.relative_to(root)}:{line}: {shown.strip()[:120]}")
    print(f"audit: {len(found)} image names outside code that no reference covers")
    for example in found[:15]:
        print(f"  {example}")


class _Done:
    def __init__(self, returncode: int, stderr: str, seconds: float) -> None:
        self.returncode, self.stderr, self.seconds = returncode, stderr, seconds


def _run(root: Path, host: FakeLsky, *args: str) -> _Done:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=DEFAULT_TOKEN)
    started = time.perf_counter()
    done = subprocess.run(
        [IMGSYNC, *args, "."], cwd=root, env=env, capture_output=True, text=True, timeout=1800
    )
    return _Done(done.returncode, done.stderr, time.perf_counter() - started)


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _prove(before: dict[Path, bytes], scans: dict[Path, ScanResult], site: str) -> list[str]:
    """Each changed line of each file differs from the old one only inside the local
    references imgsync reported on it, and each of those that changed now names the host.
    The old line, its references made wildcards, must match the new one whole."""
    failures: list[str] = []
    changed = rewritten = 0
    for path, old_bytes in before.items():
        new_bytes = path.read_bytes()
        if new_bytes == old_bytes:
            continue
        changed += 1
        old, new = old_bytes.decode("utf-8-sig"), new_bytes.decode("utf-8-sig")
        old_lines, new_lines = old.splitlines(True), new.splitlines(True)
        if len(old_lines) != len(new_lines):
            failures.append(f"{path}: {len(old_lines)} lines became {len(new_lines)}")
            continue
        spans = sorted(ref.text_span or (ref.start, ref.end) for ref in scans[path].local_refs)
        line_start = 0
        for number, (was, now) in enumerate(zip(old_lines, new_lines, strict=True), 1):
            line_end = line_start + len(was)
            if was != now:
                here = [
                    (a - line_start, b - line_start) for a, b in spans if line_start <= a < line_end
                ]
                found = _match_line(was, now, here, site)
                if found is None:
                    failures.append(f"{path}:{number}: changed outside a reference")
                else:
                    rewritten += found
            line_start = line_end
    print(f"proof: {changed} files changed, {rewritten} references rewritten, ", end="")
    print(f"{len(failures)} failures")
    return failures


def _match_line(was: str, now: str, spans: list[tuple[int, int]], site: str) -> int | None:
    """How many references of `was` (at `spans`) `now` rewrote to the host; None when `now`
    differs anywhere else, or a changed reference does not name the host."""
    pattern, cursor = [], 0
    for start, end in spans:
        pattern += [re.escape(was[cursor:start]), "(.*?)"]
        cursor = end
    pattern.append(re.escape(was[cursor:]))
    match = re.fullmatch("".join(pattern), now, re.DOTALL)
    if match is None:
        return None
    count = 0
    for (start, end), value in zip(spans, match.groups(), strict=True):
        if value != was[start:end]:
            if site not in value:
                return None
            count += 1
    return count


if __name__ == "__main__":
    sys.exit(main())
