"""The upload journal: no upload is ever forgotten, whatever happens to the cache file.

End to end with the real console script, a real git repository in a temp folder and
the fake Lsky counting what it receives; and the journal file itself, appended to by
several processes at once and read back line by line as untrusted input.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgsync.cache import CacheEntry, UploadCache
from imgsync.state.cache_file import read_document
from imgsync.state.cache_writer import dump_document
from imgsync.state.journal import UploadJournal, journal_path
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "5|journalTestTokenThatIsNeverPrinted00000000"
CACHE = ".imgsync-cache.json"
JOURNAL = Path(".imgsync") / (CACHE + ".journal")


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


def run(
    cwd: Path, host: FakeLsky, *args: str, file_size_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The real console script, as a user runs it; optionally under a file-size limit
    (writing a bigger file fails with EFBIG: a full disk as far as imgsync can tell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN=TOKEN, NO_PROXY="127.0.0.1")

    def limit() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    done = subprocess.run(
        [IMGSYNC, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=imgsync test", "-c", "user.email=test@example.invalid"]
    return subprocess.run(
        ["git", *identity, "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def make_blog(root: Path, count: int) -> Path:
    """A post referencing `count` distinct images, and an empty cache, committed."""
    (root / "img").mkdir(parents=True)
    for n in range(count):
        (root / "img" / f"p{n}.png").write_bytes(png_bytes(2, 2, rgb=(n, 7, 9)))
    (root / "post.md").write_text(post_text(count))
    (root / CACHE).write_text('{\n  "uploads": {},\n  "version": 1\n}\n')
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a post")
    return root


def post_text(count: int, first: int = 0) -> str:
    return "# Post\n\n" + "".join(f"![p{n}](img/p{n}.png)\n" for n in range(first, count))


def cached(root: Path, host: FakeLsky) -> dict[str, CacheEntry]:
    """The cache file's own entries (not what the journal would add back on opening it)."""
    return read_document(root / CACHE)[1].get(f"lsky {host.url}", {})


def journal_md5s(root: Path) -> list[str]:
    return [json.loads(line)["md5"] for line in (root / JOURNAL).read_text().splitlines()]


def uploaded_md5s(host: FakeLsky) -> list[str]:
    return [upload.md5 for upload in host.uploads]


# --- a revert of the cache file ---------------------------------------------------------


def test_git_checkout_of_the_cache_loses_no_upload(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path / "blog", 3)
    first = run(blog, host, "sync", ".")
    assert first.returncode == 0, first.stderr
    assert len(host.uploads) == 3
    urls = {md5: entry.url for md5, entry in cached(blog, host).items()}
    assert len(urls) == 3

    # The cache alone goes back to its committed (empty) state; the post stays rewritten.
    git(blog, "checkout", "--", CACHE)
    assert cached(blog, host) == {}
    again = run(blog, host, "sync", ".")

    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stderr
    assert host.requests == 3  # no request at all
    assert {md5: entry.url for md5, entry in cached(blog, host).items()} == urls

    # Both back to the commit: the post names the local images again.
    git(blog, "checkout", "--", ".")
    assert (blog / "post.md").read_text() == post_text(3)
    third = run(blog, host, "sync", ".")

    assert third.returncode == 0, third.stderr
    assert "0 uploaded, 3 already on the host" in third.stderr
    assert host.requests == 3
    assert {md5: entry.url for md5, entry in cached(blog, host).items()} == urls
    assert sorted(urls.values()) == sorted(
        line.split("(")[1].rstrip(")") for line in (blog / "post.md").read_text().splitlines()[2:]
    )


def test_a_merge_that_drops_entries_uploads_nothing_again(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path / "blog", 2)
    assert run(blog, host, "sync", ".").returncode == 0
    # Someone resolves a conflict by keeping "theirs": every entry of this side is gone,
    # and the post is back to naming its local images.
    (blog / CACHE).write_text('{"uploads": {}, "version": 1}\n')
    (blog / "post.md").write_text(post_text(2) + "\nMore text.\n")

    again = run(blog, host, "sync", ".")

    assert again.returncode == 0, again.stderr
    assert len(host.uploads) == 2
    assert set(cached(blog, host)) == set(uploaded_md5s(host))


def test_the_journal_is_never_committed(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path / "blog", 1)
    assert run(blog, host, "sync", ".").returncode == 0
    assert (blog / JOURNAL).exists()
    status = git(blog, "status", "--porcelain", "--untracked-files=all")
    assert ".imgsync/" not in status
    assert sorted(line[3:] for line in status.splitlines()) == [CACHE, "post.md"]


# --- a cache that can't be written --------------------------------------------------------


def seeded_cache(blog: Path, host: FakeLsky, count: int) -> int:
    """Fill the cache with `count` entries of other images, as imgsync writes it; its size."""
    identity = f"lsky {host.url}"
    uploads = {}
    for n in range(count):
        data = f"older upload {n}".encode()
        entry = CacheEntry(
            f"{host.url.removesuffix('/api/v1')}/i/old/{n}.png",
            {"key": f"old{n}"},
            100 + n,
            hashlib.sha256(data).hexdigest(),
            "2026-11-01T10:00:00Z",
            f"img/old{n}.png",
        )
        uploads[hashlib.md5(data).hexdigest()] = entry.to_json()
    body = dump_document({"uploads": {identity: uploads}, "version": 1})
    (blog / CACHE).write_bytes(body)
    return len(body)


@pytest.mark.parametrize("room", [1, 600], ids=["first-write-fails", "second-write-fails"])
def test_a_failed_cache_write_keeps_every_upload_in_flight(
    tmp_path: Path, room: int, host: FakeLsky
) -> None:
    """14 uploads, 4 recorded, was the complaint: now each upload the host got is kept."""
    blog = make_blog(tmp_path / "blog", 10)
    size = seeded_cache(blog, host, 25)
    # The first upload goes alone (the host gate's probe). Once it is answered, 4 go at once:
    # the fake answers none of them before all 4 are in flight, so that when the second write
    # fails, 3 are still out. (When the first write fails, whether the others were sent before
    # it failed is a race the product may win or lose either way: it is not counted.)
    host.hold_until = 5 if room > 1 else 0

    failed = run(blog, host, "sync", "--jobs", "4", ".", file_size_limit=size + room)

    assert failed.returncode == 2, failed.stderr
    got = uploaded_md5s(host)
    assert 1 <= len(got) < 10  # it stopped sending...
    if room > 1:
        # ...but let those in flight finish, and sent no more once the failure was known. A
        # worker gives its request slot back when its reply comes, before it records it
        # (transfer/pool.py), so while the 4 records were written up to 4 more may have gone.
        assert 5 <= len(got) <= 9
    assert set(got) <= set(journal_md5s(blog))  # every one of them is kept
    kept = len(set(got) - set(cached(blog, host)))
    assert kept >= 1
    assert f"The {kept} upload(s) it could not record are kept in the journal" in failed.stderr
    assert ".imgsync/.imgsync-cache.json.journal" in failed.stderr
    assert "File too large" in failed.stderr
    assert "Traceback" not in failed.stderr
    print(f"room {room}: {len(got)} uploaded, {kept} kept in the journal only", failed.stderr)

    host.hold_until = 0
    again = run(blog, host, "sync", ".")

    assert again.returncode == 0, again.stderr
    everything = uploaded_md5s(host)
    assert len(everything) == len(set(everything)) == 10  # none of them went up twice
    assert set(everything) <= set(cached(blog, host))
    assert "![p0](img/p0.png)" not in (blog / "post.md").read_text()


def test_a_read_only_cache_is_left_alone_and_said_so(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path / "blog", 2)
    (blog / "post.md").write_text(post_text(1))
    assert run(blog, host, "sync", ".").returncode == 0
    cache = blog / CACHE
    before = cache.read_bytes()
    cache.chmod(0o444)

    # Nothing to write into the cache: as before.
    assert run(blog, host, "sync", ".").returncode == 0
    (blog / "other.md").write_text("![again](img/p0.png)\n")
    reused = run(blog, host, "sync", ".")
    assert reused.returncode == 0, reused.stderr
    assert "0 uploaded, 1 already on the host" in reused.stderr

    # A new image would need a new entry: refused before anything is sent.
    (blog / "post.md").write_text(post_text(2, first=1))
    refused = run(blog, host, "sync", ".")

    assert refused.returncode == 2, refused.stderr
    assert len(host.uploads) == 1
    message = refused.stderr
    assert ".imgsync-cache.json: is read-only" in message
    assert "chmod u+w .imgsync-cache.json" in message
    assert "Nothing was uploaded: the 1 new image(s) could not be recorded in it." in message
    assert cache.read_bytes() == before
    assert stat.S_IMODE(cache.stat().st_mode) == 0o444
    assert (blog / "post.md").read_text() == post_text(2, first=1)

    cache.chmod(0o644)
    done = run(blog, host, "sync", ".")
    assert done.returncode == 0, done.stderr
    assert len(host.uploads) == 2


def test_a_read_only_cache_missing_journal_entries_is_told(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path / "blog", 1)
    assert run(blog, host, "sync", ".").returncode == 0
    git(blog, "checkout", "--", ".")
    (blog / CACHE).chmod(0o444)

    again = run(blog, host, "sync", ".")

    assert again.returncode == 0, again.stderr
    assert len(host.uploads) == 1
    assert "lacks 1 upload(s) that the journal keeps" in again.stderr
    assert cached(blog, host) == {}


# --- the journal file ----------------------------------------------------------------------

LSKY = "lsky https://img.example.com/api/v1"


def entry_json(seed: str, url: str | None = None) -> dict[str, object]:
    return {
        "url": url or f"https://img.example.com/{seed}.png",
        "handle": {"key": seed},
        "size": 10,
        "sha256": hashlib.sha256(seed.encode()).hexdigest(),
        "uploaded_at": "2026-12-01T10:00:00Z",
        "source": f"img/{seed}.png",
    }


def md5_of(seed: str) -> str:
    return hashlib.md5(seed.encode()).hexdigest()


def test_bad_lines_are_skipped_and_named(tmp_path: Path) -> None:
    cache_path = tmp_path / CACHE
    journal = UploadJournal(journal_path(cache_path), tmp_path)
    journal.append(LSKY, md5_of("good"), entry_json("good"))
    with journal.path.open("ab") as file:
        file.write(b"not json at all\n")
        file.write(b"[1, 2]\n")
        bad_url = entry_json("evil", "javascript:alert(1)")
        file.write(json.dumps({"host": LSKY, "md5": md5_of("evil"), "entry": bad_url}).encode())
        file.write(b"\n")
        plain = entry_json("plain", "http://img.example.com/plain.png")
        file.write(json.dumps({"host": LSKY, "md5": md5_of("plain"), "entry": plain}).encode())
        file.write(b"\n")
    journal.append(LSKY, md5_of("later"), entry_json("later"))

    cache = UploadCache.open(cache_path)

    assert set(cache.entries_for(LSKY)) == {md5_of("good"), md5_of("later")}
    assert cache.from_journal == 2
    assert sorted(cache.warnings) == [(journal.path, n) for n in (2, 3, 4, 5)]
    problems = {line: text for (_, line), text in cache.warnings.items()}
    assert problems[2].startswith("is not a JSON record")
    assert problems[3].startswith("is a list, not an object")
    assert "javascript:alert(1)" in problems[4] and "can't be used" in problems[4]
    assert "plain http://" in problems[5]
    assert all(
        text.endswith("this line is skipped (delete it to silence this warning)")
        for text in problems.values()
    )


def test_a_bad_line_is_a_warning_of_the_run_not_a_traceback(tmp_path: Path, host: FakeLsky) -> None:
    blog = make_blog(tmp_path / "blog", 1)
    assert run(blog, host, "sync", ".").returncode == 0
    with (blog / JOURNAL).open("ab") as file:
        file.write(b'{"host": 3}\n')
    git(blog, "checkout", "--", ".")

    again = run(blog, host, "sync", ".")

    assert again.returncode == 0, again.stderr
    assert len(host.uploads) == 1
    assert 'warning: .imgsync/.imgsync-cache.json.journal:2: "host" is a number' in again.stderr


def test_a_torn_line_spoils_only_itself(tmp_path: Path) -> None:
    cache_path = tmp_path / CACHE
    journal = UploadJournal(journal_path(cache_path), tmp_path)
    journal.append(LSKY, md5_of("a"), entry_json("a"))
    with journal.path.open("ab") as file:  # a crash in the middle of an append
        file.write(b'{"entry":{"handle":{},"sha')
    assert [line.record["md5"] for line in journal.read().lines] == [md5_of("a")]

    journal.append(LSKY, md5_of("b"), entry_json("b"))

    cache = UploadCache.open(cache_path)
    assert set(cache.entries_for(LSKY)) == {md5_of("a"), md5_of("b")}
    assert list(cache.warnings) == [(journal.path, 2)]


APPENDER = """
import hashlib, sys, time
from pathlib import Path
from imgsync.state.journal import UploadJournal
path, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
journal = UploadJournal(path, path.parent.parent)
while not go.exists():
    time.sleep(0.005)
for n in range(100):
    seed = f"{name}-{n}"
    entry = {"url": "https://x/" + "y" * 3000, "handle": {}, "size": n, "source": seed,
             "sha256": hashlib.sha256(seed.encode()).hexdigest(), "uploaded_at": ""}
    journal.append("lsky https://x", hashlib.md5(seed.encode()).hexdigest(), entry)
"""


def test_appends_of_several_processes_never_interleave(tmp_path: Path) -> None:
    path = journal_path(tmp_path / CACHE)
    go = tmp_path / "go"
    names = ("watch", "hook", "editor")
    children = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(path), name, str(go)])
        for name in names
    ]
    go.touch()
    assert [child.wait(timeout=60) for child in children] == [0, 0, 0]

    read = UploadJournal(path, tmp_path).read()

    assert read.position.size == path.stat().st_size
    assert all(line.problem is None for line in read.lines)
    seeds = {f"{name}-{n}" for name in names for n in range(100)}
    assert sorted(line.record["md5"] for line in read.lines) == sorted(map(md5_of, seeds))


def test_a_run_with_nothing_to_do_reads_no_journal_once_merged(
    tmp_path: Path, host: FakeLsky
) -> None:
    blog = make_blog(tmp_path / "blog", 1)
    assert run(blog, host, "sync", ".").returncode == 0
    journal = UploadJournal(journal_path(blog / CACHE), blog)
    assert journal.is_merged(blog / CACHE)
    # A line the cheap check can't see unless it reads the journal: it doesn't.
    with journal.path.open("ab") as file:
        file.write(b"garbage\n")
    st = (blog / CACHE).stat()
    journal.mark_merged(journal.path.stat().st_size, (st.st_ino, st.st_size, st.st_mtime_ns))

    quiet = run(blog, host, "sync", ".")

    assert quiet.returncode == 0 and "warning" not in quiet.stderr
    git(blog, "checkout", "--", CACHE)  # now the cache changed: the journal is read again
    told = run(blog, host, "sync", ".")
    assert "journal:2: is not a JSON record" in told.stderr
    assert len(cached(blog, host)) == 1


def test_a_reader_goes_on_from_where_it_stopped(tmp_path: Path) -> None:
    journal = UploadJournal(journal_path(tmp_path / CACHE), tmp_path)
    journal.append(LSKY, md5_of("a"), entry_json("a"))
    with journal.path.open("ab") as file:
        file.write(b"oops\n")
    first = journal.read()
    journal.append(LSKY, md5_of("b"), entry_json("b"))

    then = journal.read(first.position)

    assert [(line.number, line.record["md5"]) for line in then.lines] == [(3, md5_of("b"))]
    assert then.position.size == journal.path.stat().st_size
    journal.path.unlink()  # made afresh: read from its start
    journal.append(LSKY, md5_of("c"), entry_json("c"))
    again = journal.read(then.position)
    assert [(line.number, line.record["md5"]) for line in again.lines] == [(1, md5_of("c"))]


def test_an_upload_only_the_journal_kept_is_seen_by_a_cache_already_open(
    tmp_path: Path,
) -> None:
    """Another process's upload whose cache write failed: a claim's reload() finds it."""
    cache = UploadCache.open(tmp_path / CACHE)
    assert cache.lookup(LSKY, md5_of("x"), hashlib.sha256(b"x").hexdigest()) is None
    UploadJournal(journal_path(tmp_path / CACHE), tmp_path).append(
        LSKY, md5_of("x"), entry_json("x")
    )

    cache.reload()

    found = cache.lookup(LSKY, md5_of("x"), hashlib.sha256(b"x").hexdigest())
    assert found is not None and found.url == "https://img.example.com/x.png"
