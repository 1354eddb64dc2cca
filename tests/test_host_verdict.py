"""A failure about the host, not the file (rejected credentials, a wrong URL, no connection)
is decided once for the host: the queue stops, the images left are told once.

Unit tests drive the pool with a scripted host, and HostErrors with the socket's own errors
(a name that can't resolve among them: no lookup leaves the machine); the end-to-end ones
run the real console script against a fake Lsky and a port nothing listens on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imgsync.errors import AuthError, HostError, HostUnreachable, TransientHostError, WrongEndpoint
from imgsync.hosts._http import HostErrors
from imgsync.hosts.base import UploadRequest, UploadResult
from imgsync.testing.fake_lsky import FakeLsky
from imgsync.transfer.pool import BatchResult, upload_many
from imgsync.transfer.retry_policy import RetryPolicy
from tests.images import png_bytes
from tests.scripted_host import REQUEST, ScriptedHost

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "5|verdictTokenThatMustNeverBePrinted0000000"
QUICK = RetryPolicy(unreachable_backoff=0.01)
REFUSED = HostUnreachable("could not reach h: refused", worth_retrying=True)


def upload(host: ScriptedHost, count: int, jobs: int = 8) -> BatchResult:
    recorded: list[str] = []
    batch = upload_many(
        host,
        {f"k{n}": REQUEST for n in range(count)},
        QUICK,
        jobs=jobs,
        on_success=lambda key, result: recorded.append(key),
    )
    assert sorted(recorded) == sorted(batch.done)
    return batch


def test_rejected_credentials_are_met_by_one_request_however_many_workers() -> None:
    host = ScriptedHost([AuthError("the host rejected the token")], latency=0.05)

    batch = upload(host, 7)

    assert len(host.calls) == 1
    assert not batch.done and len(batch.failed) == 7
    assert isinstance(batch.verdict, AuthError)
    assert {str(error) for error in batch.failed.values()} == {"the host rejected the token"}


def test_a_wrong_url_stops_the_queue_after_one_request() -> None:
    host = ScriptedHost([WrongEndpoint("404: 'url' is probably wrong")])

    batch = upload(host, 5)

    assert len(host.calls) == 1 and len(batch.failed) == 5


def test_a_name_that_does_not_resolve_is_never_retried() -> None:
    host = ScriptedHost([HostUnreachable("no such host name", worth_retrying=False)] * 9)

    batch = upload(host, 25)

    assert len(host.calls) == 1 and len(batch.failed) == 25
    assert "gave up" not in str(batch.verdict)


def test_a_refused_connection_gets_three_attempts_for_the_host_not_per_image() -> None:
    host = ScriptedHost([REFUSED] * 30)

    batch = upload(host, 25)

    assert len(host.calls) == 3
    assert not batch.done and len(batch.failed) == 25
    assert "gave up after 3 attempts" in str(batch.verdict)
    assert all(isinstance(error, HostUnreachable) for error in batch.failed.values())


def test_a_host_back_within_its_attempts_takes_every_upload() -> None:
    host = ScriptedHost([REFUSED, REFUSED])  # then the default URL for every call

    batch = upload(host, 6)

    assert len(batch.done) == 6 and not batch.failed and batch.verdict is None
    assert len(host.calls) == 8


class _FourTogether(ScriptedHost):
    """Holds calls 2 to 5 until all four are out: they meet the outage together however
    slowly the machine starts its threads (a latency alone would race them)."""

    def __init__(self, outcomes: list[HostError | str]) -> None:
        super().__init__(outcomes)
        self._together = threading.Barrier(4, timeout=10)
        self._started = 0
        self._counting = threading.Lock()

    def upload(self, request: UploadRequest) -> UploadResult:
        with self._counting:
            self._started += 1
            held = 2 <= self._started <= 5
        if held:
            self._together.wait()
        return super().upload(request)


def test_requests_out_together_when_the_host_goes_down_count_as_one_attempt() -> None:
    # The first answer proves the host; then four go at once and all meet the outage.
    host = _FourTogether(["https://h/0", *[REFUSED] * 30])

    batch = upload(host, 20, jobs=4)

    # 1 success, the 4 in flight (one attempt), then 2 probes alone: 3 attempts in all.
    assert len(host.calls) == 1 + 4 + 2
    assert len(batch.done) == 1 and len(batch.failed) == 19
    assert "gave up after 3 attempts" in str(batch.verdict)


def test_transient_faults_keep_their_per_request_retries() -> None:
    host = ScriptedHost(["https://h/0", TransientHostError("502"), TransientHostError("502")])

    batch = upload(host, 3, jobs=1)

    assert len(batch.done) == 3 and not batch.failed and batch.verdict is None


def test_a_per_file_refusal_does_not_stop_the_others() -> None:
    host = ScriptedHost([HostError("too large"), "https://h/1", "https://h/2"])

    batch = upload(host, 3)

    assert len(batch.done) == 2 and len(batch.failed) == 1 and batch.verdict is None


# How connection failures are told apart: the socket's own error, under httpx's.


def _transport_error(cause: BaseException) -> HostError:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(str(cause), request=request) from cause

    errors = HostErrors("lsky https://img.example.com/api/v1")
    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        try:
            with errors.transport("https://img.example.com/api/v1/upload"):
                client.get("https://img.example.com/api/v1/upload")
        except HostError as error:
            return error
    raise AssertionError("no error")


@pytest.mark.parametrize(
    ("cause", "worth_retrying", "words"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), False, "no such host"),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), False, "are you offline?"),
        (ConnectionRefusedError(111, "Connection refused"), True, "refused"),
        (OSError(113, "No route to host"), True, "No route to host"),
    ],
)
def test_connection_failures_are_told_apart(
    cause: BaseException, worth_retrying: bool, words: str
) -> None:
    error = _transport_error(cause)

    assert isinstance(error, HostUnreachable) and error.about_host
    assert error.worth_retrying is worth_retrying
    assert words in str(error)


def test_a_certificate_that_does_not_verify_is_not_retried() -> None:
    import ssl

    error = _transport_error(ssl.SSLCertVerificationError(1, "certificate verify failed"))

    assert isinstance(error, HostUnreachable) and not error.worth_retrying
    assert "ca_file" in str(error)


# End to end: the real console script.


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    (tmp_path / "img").mkdir()
    lines = []
    for n in range(25):
        (tmp_path / "img" / f"{n}.png").write_bytes(png_bytes(rgb=(n, 0, 0)))
        lines.append(f"![shot {n}](img/{n}.png)\n")
    (tmp_path / "post.md").write_text("".join(lines))
    return tmp_path


def run(blog: Path, url: str, token: str = TOKEN, *args: str) -> tuple[int, str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=url, LSKY_TOKEN=token, CI="true")
    started = time.monotonic()
    done = subprocess.run(
        [IMGSYNC, *args, "post.md"], cwd=blog, env=env, capture_output=True, text=True, timeout=60
    )
    assert token not in done.stdout + done.stderr
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port  # closed: a connection there is refused


def test_a_host_that_is_down_fails_the_run_in_seconds_and_says_so_once(
    blog: Path, closed_port: int
) -> None:
    before = (blog / "post.md").read_bytes()

    status, stderr, seconds = run(blog, f"http://127.0.0.1:{closed_port}/api/v1")

    assert status == 3
    assert seconds < 10
    lines = stderr.splitlines()
    assert len(lines) <= 3, stderr
    assert sum("refused" in line for line in lines) == 2  # the retry note, then the verdict
    assert "Left to upload: 25 image(s)" in stderr and "gave up after 3 attempts" in stderr
    assert (blog / "post.md").read_bytes() == before


def test_a_wrong_token_costs_one_request_and_one_message(blog: Path) -> None:
    with FakeLsky(token=TOKEN) as host:
        status, stderr, _ = run(
            blog, host.url, "5|wrongTokenWrongTokenWrongTokenWrongToken0", "-j", "8"
        )
        assert host.requests == 1 and host.statuses == {401: 1}

    assert status == 3
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "rejected the token" in errors[0]
    assert "Left to upload: 25 image(s), 25 reference(s) in 1 file(s)" in errors[0]


def test_the_images_left_are_counted_by_their_files_not_by_how_they_are_written(
    tmp_path: Path,
) -> None:
    # a/ names its image twice, once as ./img.png; b/ and c/ each have an img.png of their own.
    for n, (folder, text) in enumerate(
        [
            ("a", "![x](img.png)\n\n![y](./img.png)\n"),
            ("b", "![x](img.png)\n"),
            ("c", "![x](img.png)\n"),
        ]
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "img.png").write_bytes(png_bytes(rgb=(n, 9, 9)))
        (tmp_path / folder / "post.md").write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    with FakeLsky(token=TOKEN) as host:
        env.update(LSKY_BASE_URL=host.url, LSKY_TOKEN="5|" + "w" * 40, CI="true")
        done = subprocess.run(
            [IMGSYNC, "."], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )

    assert done.returncode == 3
    assert "Left to upload: 3 image(s), 4 reference(s) in 3 file(s)" in done.stderr, done.stderr


def test_a_wrong_url_costs_one_request(blog: Path) -> None:
    with FakeLsky(token=TOKEN) as host:
        status, stderr, _ = run(blog, f"{host.site}/api/v2")
        assert host.requests == 1

    assert status == 3 and "probably wrong" in stderr


def test_a_url_that_answers_a_web_page_costs_one_request(blog: Path) -> None:
    # 'url' set to the site instead of its API: every reply is a page, not the API's JSON.
    with FakeLsky(token=TOKEN) as host:
        host.fail_next("html", times=30)
        status, stderr, _ = run(blog, host.url, TOKEN, "-j", "8")
        assert host.requests == 1

    assert status == 3 and "not from the Lsky API" in stderr
    assert "Left to upload: 25 image(s)" in stderr


def test_the_json_document_names_the_verdict(blog: Path, closed_port: int) -> None:
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    env.update(LSKY_BASE_URL=f"http://127.0.0.1:{closed_port}/api/v1", LSKY_TOKEN=TOKEN)
    done = subprocess.run(
        [IMGSYNC, "--json", "post.md"], cwd=blog, env=env, capture_output=True, text=True
    )

    document = json.loads(done.stdout)
    assert document["exit_status"] == 3 and len(document["failures"]) == 25
    assert "refused" in document["host_verdict"]
    assert {f["reason"] for f in document["failures"]} == {document["host_verdict"]}
