"""The command host (hosts/command.py): real programs (small Python scripts run with this
interpreter) that send the image to a real web server on loopback, through the host
contract; and its own rules: no shell, the environment's consent, timeouts, bounded output."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsync.environment import ALLOW_COMMAND_VARIABLE
from imgsync.errors import ConfigError, HostError, TransientHostError, WrongEndpoint
from imgsync.hosts.base import Host, HostProfile, UploadRequest, supports
from imgsync.hosts.command import CommandHost
from imgsync.hosts.profile import Trusted
from imgsync.privacy import send_plan
from imgsync.testing.http import FakeServer
from tests.host_contract import HostContract
from tests.images import exif_tiff, jpeg_bytes, png_bytes
from tests.site_server import REFUSAL_WORDS, ProjectSite

ALLOWED = {ALLOW_COMMAND_VARIABLE: "1"}
# A storage service's client, as `curl -T` would be: PUT the file, print the reply (the URL).
UPLOADER = """
import sys, urllib.error, urllib.request
path, site, name = sys.argv[1:4]
with open(path, "rb") as image:
    request = urllib.request.Request(f"{site}/upload/{name}", data=image.read(), method="PUT")
try:
    with urllib.request.urlopen(request) as reply:
        sys.stdout.write(reply.read().decode())
except urllib.error.HTTPError as error:
    sys.stderr.write(f"upload failed: HTTP {error.code}\\n{error.read().decode()}\\n")
    sys.exit(1)
"""


def script(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def command_host(project: Path, command: list[str], **options: Any) -> CommandHost:
    env = ALLOWED | options.pop("env", {})
    options = {"command": command} | options
    profile = HostProfile("up", "command", options, project / "imgsync.toml", Trusted(env))
    return CommandHost(profile)


def request_for(path: Path) -> UploadRequest:
    return UploadRequest(path, path.name, "image/png", path.stat().st_size)


class TestCommandContract(HostContract):
    host_class = CommandHost
    # A program refuses in its own words (stderr), may print a page instead of a URL, may
    # hang; it has no credentials of imgsync's, no HTTP status, no rate limit imgsync sees.
    situations = frozenset({"refusal", "html_page", "hang"})
    bad_options = (
        ({}, "'command' is required"),
        ({"command": []}, "'command' is required"),
        ({"command": [1, "{path}"]}, "'command' is required"),
        ({"command": "rclone copy {path} r2:blog"}, "'command' must be a list"),
        ({"command": ["rclone", "copy", "r2:blog"]}, "put {path} among its arguments"),
        ({"command": ["{path}"]}, "must begin with the program"),
        ({"command": ["up", "{path}", "{size}"]}, "unknown placeholder(s) ['size']"),
        ({"command": ["up", "{path", "x"]}, "'command' is not a valid template"),
        ({"command": ["up", "{path}", "--token=${UP_TOKEN}"]}, "inherits the environment"),
        ({"command": ["up", "{path}"], "url": "https://i.example.com/{path}"}, "can't hold {path}"),
        ({"command": ["up", "{path}"], "url": "https://i.example.com/a.png"}, "must contain {md5}"),
        ({"command": ["up", "{path}"], "url": "i.example.com/{md5}"}, "must make an https:// URL"),
        ({"command": ["up", "{path}"], "url": "http://i.example.com/{md5}"}, "plain http://"),
        ({"command": ["up", "{path}"], "url": "${IMG}/{md5}"}, "names the variable ${IMG}"),
        ({"command": ["up", "{path}"], "timeout": 0}, "'timeout' must be a whole number"),
        ({"command": ["up", "{path}"], "timeout": "soon"}, "'timeout' must be a whole number"),
        ({"command": ["up", "{path}"], "token": "x"}, "unknown key 'token'"),
    )

    def start_fake(self, variant: str) -> FakeServer[Any]:
        site = ProjectSite()
        script(site.project, "uploader.py", UPLOADER)
        return site

    timeout = 30  # seconds: a loaded machine starts Python slowly

    def options(self, url: str, secret: str) -> dict[str, Any]:
        command = [sys.executable, "uploader.py", "{path}", url, "{md5}{ext}"]
        return {"command": command, "timeout": self.timeout}

    def host_at(self, url: str, http: httpx.Client, secret: str, **more: Any) -> Host:
        options = self.options(url, secret) | more
        return CommandHost(HostProfile("t", "command", options, Path("x.toml"), Trusted(ALLOWED)))

    def make_host(self, fake: FakeServer[Any], http: httpx.Client, *, wrong: bool = False) -> Host:
        assert isinstance(fake, ProjectSite)
        profile = HostProfile(
            "t", "command", self.options(fake.site, ""), fake.project / "x.toml", Trusted(ALLOWED)
        )
        return CommandHost(profile)

    def provoke_refusal(self, fake: FakeServer[Any], host: Host, request: UploadRequest) -> None:
        fake.fail_next("403")

    def provoke_hang(self, fake: FakeServer[Any]) -> None:
        self.timeout = 2  # this test's host (made next) waits no longer for the program
        fake.fail_next("hang")

    def provoke_html_page(self, fake: FakeServer[Any]) -> None:
        fake.fail_next("html")

    def probe_cli_fake(self, url: str, client: httpx.Client) -> None:
        raise AssertionError("the site server has no command line: no 'fake_command' situation")


def test_a_refusal_quotes_the_programs_last_words_and_its_status(tmp_path: Path) -> None:
    with ProjectSite() as site:
        uploader = script(tmp_path, "up.py", UPLOADER)
        host = command_host(tmp_path, [sys.executable, uploader, "{path}", site.site, "{md5}"])
        image = tmp_path / "a.png"
        image.write_bytes(png_bytes())
        site.fail_next("403")

        with pytest.raises(HostError) as caught:
            host.upload(request_for(image))

    error = caught.value
    assert type(error) is HostError and not error.retryable
    assert error.message == f"{sys.executable} failed (exit status 1)"
    assert error.host_message == f"upload failed: HTTP 403 | {REFUSAL_WORDS}"
    assert supports(host) == frozenset()


def test_without_the_environments_consent_no_command_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    profile = HostProfile(
        "up", "command", {"command": ["touch", str(marker), "{path}"]}, tmp_path / "imgsync.toml"
    )

    with pytest.raises(ConfigError, match=f"set {ALLOW_COMMAND_VARIABLE}=1 where you trust"):
        CommandHost(profile)

    assert not marker.exists()


def test_no_shell_reads_the_arguments(tmp_path: Path) -> None:
    echo = script(tmp_path, "echo.py", "import sys; print(sys.argv[1]); print(sys.argv[2])")
    host = command_host(
        tmp_path, [sys.executable, echo, "{path}; touch pwned", "https://i.example.com/{md5}$HOME"]
    )
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())

    result = host.upload(request_for(image))

    md5 = hashlib.md5(image.read_bytes()).hexdigest()
    assert result.url == f"https://i.example.com/{md5}$HOME"  # the last line, as printed
    assert not (tmp_path / "pwned").exists()


def test_the_url_template_is_filled_and_the_program_gets_each_placeholder(tmp_path: Path) -> None:
    record = script(
        tmp_path, "record.py", "import sys; open(sys.argv[1], 'w').write('|'.join(sys.argv[2:]))"
    )
    seen = tmp_path / "seen.txt"
    command = [sys.executable, record, str(seen), "{path}", "{md5}", "{ext}", "{name}"]
    host = command_host(tmp_path, command, url="https://cdn.example.com/{name}-{md5:.8}{ext}")
    image = tmp_path / "My Photo.png"
    image.write_bytes(png_bytes())

    result = host.upload(request_for(image))

    md5 = hashlib.md5(image.read_bytes()).hexdigest()
    assert seen.read_text() == f"{image}|{md5}|.png|My-Photo"
    assert result.url == f"https://cdn.example.com/My-Photo-{md5[:8]}.png"
    assert host.identity == "command https://cdn.example.com/{name}-{md5:.8}{ext}"
    assert host.runs == 1


def test_a_stripped_image_is_handed_over_as_a_copy_removed_afterwards(tmp_path: Path) -> None:
    keep = script(tmp_path, "keep.py", "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])")
    kept = tmp_path / "kept.jpg"
    where = tmp_path / "where.txt"
    note = script(tmp_path, "note.py", "import sys; open(sys.argv[1], 'w').write(sys.argv[2])")
    photo = tmp_path / "trip.jpg"
    photo.write_bytes(jpeg_bytes(exif=exif_tiff(gps=True)))
    plan = send_plan(photo, "image/jpeg", "location")
    request = UploadRequest(photo, "trip.jpg", "image/jpeg", plan.size, plan=plan)

    command_host(
        tmp_path, [sys.executable, keep, "{path}", str(kept)], url="https://i.x/{md5}"
    ).upload(request)
    command_host(
        tmp_path, [sys.executable, note, str(where), "{path}"], url="https://i.x/{md5}"
    ).upload(request)

    with plan.open() as stream:
        sent = stream.read()
    assert kept.read_bytes() == sent != photo.read_bytes()
    handed = Path(where.read_text())
    assert handed.name == "trip.jpg" and handed.is_relative_to(tmp_path / ".imgsync" / "send")
    assert not handed.exists() and os.listdir(tmp_path / ".imgsync" / "send") == []


@pytest.mark.parametrize(
    ("printed", "words"),
    [
        ("", "printed nothing on stdout"),
        ("uploaded!\n\n", "its last line on stdout was 'uploaded!'"),
        ("javascript:alert(1)", "its last line on stdout was 'javascript:alert(1)'"),
        ("http://img.example.com/a.png", "its last line on stdout was 'http://img.example.com"),
    ],
)
def test_a_program_that_prints_no_url_is_a_clear_error(
    tmp_path: Path, printed: str, words: str
) -> None:
    say = script(tmp_path, "say.py", f"import sys; sys.stdout.write({printed!r})")
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())

    with pytest.raises(HostError, match="printed") as caught:
        command_host(tmp_path, [sys.executable, say, "{path}"]).upload(request_for(image))

    assert words in str(caught.value)


def test_a_missing_program_is_about_the_host(tmp_path: Path) -> None:
    host = command_host(tmp_path, ["imgsync-no-such-uploader", "{path}"])
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())

    with pytest.raises(WrongEndpoint) as caught:
        host.upload(request_for(image))
    with pytest.raises(WrongEndpoint):
        host.check_access()

    assert caught.value.about_host
    assert "'imgsync-no-such-uploader' ('command') was not found" in str(caught.value)
    assert command_host(tmp_path, [sys.executable, "{path}"]).check_access().verified is False


def test_stderr_is_quoted_bounded_and_without_the_environments_secrets(tmp_path: Path) -> None:
    secret = "s3cr3t-value-of-the-token"
    noisy = script(
        tmp_path,
        "noisy.py",
        "import os, sys\n"
        "for n in range(10000): print(f'line {n}', file=sys.stderr)\n"
        "print('auth with', os.environ['UP_TOKEN'], 'refused', file=sys.stderr)\n"
        "sys.exit(3)\n",
    )
    os.environ["UP_TOKEN"] = secret
    try:
        host = command_host(tmp_path, [sys.executable, noisy, "{path}"], env={"UP_TOKEN": secret})
        image = tmp_path / "a.png"
        image.write_bytes(png_bytes())
        with pytest.raises(HostError) as caught:
            host.upload(request_for(image))
    finally:
        del os.environ["UP_TOKEN"]

    error = caught.value
    assert "(exit status 3)" in error.message
    assert (
        error.host_message
        == "line 9996 | line 9997 | line 9998 | line 9999 | auth with *** refused"
    )
    assert secret not in str(error) + repr(error) + repr(host) + host.identity


def test_a_timeout_stops_the_program_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    sleeper = script(
        tmp_path,
        "sleeper.py",
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open(sys.argv[1], 'w').write(str(child.pid))\n"
        "time.sleep(60)\n",
    )
    host = command_host(tmp_path, [sys.executable, sleeper, str(pid_file), "{path}"], timeout=4)
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    started = time.monotonic()

    with pytest.raises(TransientHostError, match=r"did not finish within 4 s \('timeout'\)"):
        host.upload(request_for(image))

    assert time.monotonic() - started < 15
    child = int(pid_file.read_text())
    for _ in range(50):  # the child is killed; init reaps it
        if not Path(f"/proc/{child}").exists() or "Z" in _state(child):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the program's child outlived the timeout")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_the_identity_holds_no_absolute_path_of_the_project(tmp_path: Path) -> None:
    one = command_host(tmp_path / "a", ["rclone", "copyto", "{path}", "r2:blog/{md5}{ext}"])
    two = command_host(tmp_path / "b", ["rclone", "copyto", "{path}", "r2:blog/{md5}{ext}"])

    assert one.identity == two.identity == "command rclone copyto {path} r2:blog/{md5}{ext}"
