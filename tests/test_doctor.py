"""`imgsync doctor` through the real console script, against the fake Lsky on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgsync.doctor import diagnose
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_network import https_lsky

IMGSYNC = str(Path(sys.executable).with_name("imgsync"))
TOKEN = "5|doctorTokenThatMustNeverBePrinted00000000"
Checks = dict[str, tuple[str, str]]  # name -> (verdict, what was found)


@pytest.fixture
def host() -> Iterator[FakeLsky]:
    with FakeLsky(token=TOKEN) as server:
        yield server


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    root = tmp_path / "blog"
    (root / "img").mkdir(parents=True)
    (root / "img" / "a.png").write_bytes(png_bytes(rgb=(1, 2, 3)))
    (root / "post.md").write_text("# Post\n\n![a](img/a.png)\n")
    return root


def doctor(
    cwd: Path, *args: str, url: str | None, token: str | None = TOKEN
) -> tuple[subprocess.CompletedProcess[str], Checks]:
    """Run `imgsync doctor --json ARGS` with the fake's variables; its checks by name."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSKY_", "IMGSYNC_"))}
    # A developer's proxy would turn the network check into a note: these tests want it direct.
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    if url is not None:
        env["LSKY_BASE_URL"] = url
    if token is not None:
        env["LSKY_TOKEN"] = token
    done = subprocess.run(
        [IMGSYNC, "doctor", "--json", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert TOKEN not in done.stdout + done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    assert document["exit_status"] == done.returncode
    checks = {c["name"]: (c["verdict"], c["found"]) for c in document["checks"]}
    assert list(checks) == ["config", "root", "cache", "host", "network", "token", "sync"]
    return done, checks


def free_port() -> int:
    """A port nothing listens on: bound, then let go."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_good_set_up_passes_every_check_and_uploads_nothing(blog: Path, host: FakeLsky) -> None:
    done, checks = doctor(blog, url=host.url)

    assert done.returncode == 0, done.stdout
    assert {verdict for verdict, _ in checks.values()} == {"ok"}
    assert (
        checks["config"][1]
        == "no config file: the environment alone (LSKY_BASE_URL and LSKY_TOKEN)"
    )
    assert "token set, from LSKY_TOKEN in the environment" in checks["host"][1]
    assert "accepted the token (GET /profile: account 'writer'" in checks["token"][1]
    assert "1 local image(s): 0 already uploaded, 1 to upload" in checks["sync"][1]
    assert host.uploads == []
    assert not (blog / ".imgsync-cache.json").exists()


def test_four_set_ups_get_four_different_verdicts(blog: Path, host: FakeLsky) -> None:
    good = doctor(blog, url=host.url)
    bad_token = doctor(blog, url=host.url, token="5|" + "w" * 40)
    wrong_url = doctor(blog, url=f"{host.site}/wrong/api/v1")
    down = doctor(blog, url=f"http://127.0.0.1:{free_port()}/api/v1")

    verdicts = [
        (checks["network"][0], checks["token"][0], checks["token"][1].partition(":")[0])
        for _, checks in (good, bad_token, wrong_url, down)
    ]
    assert verdicts == [
        ("ok", "ok", "the host accepted the token (GET /profile"),
        ("ok", "fail", "rejected"),
        ("ok", "fail", "wrong URL"),
        ("fail", "skip", "not run"),
    ]
    assert [done.returncode for done, _ in (good, bad_token, wrong_url, down)] == [0, 1, 1, 1]
    assert "Unauthenticated." in bad_token[1]["token"][1]
    assert "refused the connection (nothing listens there)" in down[1]["network"][1]
    assert host.uploads == []


def test_a_name_that_does_not_resolve_is_a_dns_failure_said_once(
    blog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The resolver is the network seam: a real lookup of a name that doesn't exist would
    # leave the machine, so it answers here as a resolver does for an unknown name.
    lookups: list[str] = []

    def unknown_name(host: str, *args: object, **kwargs: object) -> list[Any]:
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown_name)
    env = {"LSKY_BASE_URL": "https://imgsync-doctor.invalid/api/v1", "LSKY_TOKEN": TOKEN}

    diagnosis = diagnose(cwd=blog, config_file=None, env=env)

    checks = {check.name: check for check in diagnosis.checks}
    assert diagnosis.exit_status() == 1
    assert checks["network"].verdict == "fail"
    assert checks["network"].found.startswith("DNS: the name 'imgsync-doctor.invalid'")
    assert "LSKY_BASE_URL for a typo" in checks["network"].advice  # named as the user set it
    assert checks["token"].verdict == "skip"
    assert lookups == ["imgsync-doctor.invalid"]  # one lookup, no retries


def test_the_text_form_is_one_line_a_check_with_what_to_do(blog: Path, host: FakeLsky) -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"LSKY_BASE_URL": host.url, "LSKY_TOKEN": "5|" + "w" * 40}
    done = subprocess.run(
        [IMGSYNC, "doctor"], cwd=blog, env=env, capture_output=True, text=True, timeout=60
    )

    lines = done.stdout.splitlines()
    assert done.returncode == 1 and len(lines) == 8
    assert [line.split()[0] for line in lines[:7]] == ["ok"] * 5 + ["FAIL", "ok"]
    assert "; to fix: set the right token" in lines[5]
    assert lines[7] == "1 check(s) failed: token"


def test_without_config_or_environment_it_says_to_run_init(blog: Path) -> None:
    done, checks = doctor(blog, url=None, token=None)

    assert done.returncode == 1
    assert checks["config"][0] == "fail"
    assert checks["host"][0] == "fail" and "no image host is configured" in checks["host"][1]
    assert (checks["network"][0], checks["token"][0], checks["sync"][0]) == ("skip",) * 3


def test_a_config_error_is_a_failed_check_not_a_crash(blog: Path, host: FakeLsky) -> None:
    (blog / "imgsync.toml").write_text("jbos = 2\n")

    done, checks = doctor(blog, url=host.url)

    assert done.returncode == 1
    verdict, found = checks["config"]
    assert verdict == "fail" and "unknown key `jbos`; did you mean `jobs`?" in found
    assert all(verdict == "skip" for verdict, _ in list(checks.values())[1:])


def test_a_host_name_that_cant_exist_is_a_failed_host_check_not_a_crash(blog: Path) -> None:
    # An empty label: the resolver's IDNA encoding raised UnicodeError, a traceback.
    done, checks = doctor(blog, url="https://img..example.com/api/v1")

    assert done.returncode == 1 and "Traceback" not in done.stderr
    verdict, found = checks["host"]
    assert verdict == "fail" and "names a host that can't exist" in found
    assert (checks["network"][0], checks["token"][0]) == ("skip", "skip")


def test_a_corrupt_cache_fails_its_check(blog: Path, host: FakeLsky) -> None:
    (blog / ".imgsync-cache.json").write_text("{not json")

    done, checks = doctor(blog, url=host.url)

    assert done.returncode == 1
    assert checks["cache"][0] == "fail" and ".imgsync-cache.json" in checks["cache"][1]
    assert checks["sync"][0] == "skip"


def test_a_read_only_cache_fails_its_check(blog: Path, host: FakeLsky) -> None:
    cache = blog / ".imgsync-cache.json"
    cache.write_text('{"version": 1, "uploads": {}}\n')
    cache.chmod(0o444)

    done, checks = doctor(blog, url=host.url)

    assert done.returncode == 1
    assert checks["cache"][0] == "fail" and "read-only" in checks["cache"][1]


def test_a_missing_image_fails_the_sync_check(blog: Path, host: FakeLsky) -> None:
    (blog / "other.md").write_text("![gone](img/gone.png)\n")

    done, checks = doctor(blog, url=host.url)

    assert done.returncode == 1
    verdict, found = checks["sync"]
    assert verdict == "fail" and "1 reference(s) that can't be synced" in found


def test_a_proxy_is_named_and_the_token_check_goes_through_it(blog: Path, host: FakeLsky) -> None:
    # The fake itself stands in as the proxy: httpx sends it the absolute URL, which it serves.
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    port = host.site.rpartition(":")[2]
    env |= {"HTTP_PROXY": host.site, "LSKY_BASE_URL": f"http://localhost:{port}/api/v1"}
    env |= {"LSKY_TOKEN": TOKEN}
    done = subprocess.run(
        [IMGSYNC, "doctor", "--json"], cwd=blog, env=env, capture_output=True, text=True, timeout=60
    )
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}

    assert checks["network"]["verdict"] == "note"
    assert checks["network"]["found"].startswith(f"through the proxy {host.site}")
    assert checks["token"]["verdict"] == "ok"


def test_a_token_written_in_the_config_is_named_as_such_never_shown(
    blog: Path, host: FakeLsky
) -> None:
    (blog / "imgsync.toml").write_text(
        f'[hosts.blog]\ntype = "lsky"\nurl = "{host.url}"\ntoken = "{TOKEN}"\n'
    )

    done, checks = doctor(blog, url=None, token=None)

    assert done.returncode == 0, done.stdout
    assert checks["config"] == ("ok", str(blog.resolve() / "imgsync.toml"))
    assert "token set, written in" in checks["host"][1]


def test_init_suggests_doctor(tmp_path: Path) -> None:
    done = subprocess.run(
        [IMGSYNC, "init"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0
    assert "then run `imgsync doctor`" in done.stderr


def test_an_untrusted_certificate_is_a_tls_failure_and_ca_file_cures_it(
    blog: Path, certificate: tuple[Path, Path]
) -> None:
    with https_lsky(certificate) as host:
        host.token = TOKEN
        done, checks = doctor(blog, url=host.url)

        verdict, found = checks["network"]
        assert done.returncode == 1 and verdict == "fail"
        assert found.startswith("TLS: the certificate of 127.0.0.1 is not trusted")
        assert checks["token"][0] == "skip"

        (blog / "ca.pem").write_bytes(certificate[0].read_bytes())
        (blog / "imgsync.toml").write_text('ca_file = "ca.pem"\n')
        done, checks = doctor(blog, url=host.url)

        assert done.returncode == 0, done.stdout
        assert "reachable (DNS, connect, TLSv1." in checks["network"][1]


# --- advice that says something the message does not ------------------------------------


def advice(done: subprocess.CompletedProcess[str]) -> dict[str, str | None]:
    return {c["name"]: c["advice"] for c in json.loads(done.stdout)["checks"]}


def test_an_unset_url_variable_gets_a_concrete_step_not_the_message_again(blog: Path) -> None:
    (blog / "imgsync.toml").write_text(
        '[hosts.l]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'
    )

    done, checks = doctor(blog, url=None)

    assert checks["host"][0] == "fail"
    assert checks["host"][1].endswith("the environment variable LSKY_BASE_URL is not set")
    assert advice(done)["host"] == (
        "set LSKY_BASE_URL to your host's API base, e.g. https://img.example.com/api/v1"
    )


def test_an_unset_token_variable_names_it_and_where_it_comes_from(blog: Path) -> None:
    (blog / "imgsync.toml").write_text(
        '[hosts.l]\ntype = "lsky"\nurl = "https://img.example.com/api/v1"\ntoken = "${MY_TOKEN}"\n'
    )

    done, _ = doctor(blog, url=None, token=None)

    assert advice(done)["host"] == (
        "set MY_TOKEN in the environment to the host's token (in CI: from a secret)"
    )


def test_a_message_that_says_what_to_do_gets_no_advice_repeating_it(
    blog: Path, host: FakeLsky
) -> None:
    (blog / ".imgsync-cache.json").write_text("{not json")  # "Restore it from git with ..."
    (blog / "imgsync.toml").write_text(
        '[hosts.a]\ntype = "lsky"\nurl = "https://a.example.com/api/v1"\n'
        '[hosts.b]\ntype = "lsky"\nurl = "https://b.example.com/api/v1"\n'
    )  # "... and no default: set `host = "NAME"` in the config or pass --host NAME"

    done, checks = doctor(blog, url=None)

    assert "Restore it from git" in checks["cache"][1]
    assert 'set `host = "NAME"`' in checks["host"][1]
    assert (advice(done)["cache"], advice(done)["host"]) == (None, None)


def test_a_config_error_that_only_says_what_is_wrong_says_where_to_correct_it(
    blog: Path,
) -> None:
    (blog / "imgsync.toml").write_text('site_root = "nope"\n')

    done, checks = doctor(blog, url=None)

    assert checks["config"][1].endswith("nope is not a folder")
    config = blog / "imgsync.toml"
    assert advice(done)["config"] == f"correct it in {config}, then run `imgsync doctor` again"
    assert not any("message says" in (text or "") for text in advice(done).values())


def test_a_wrong_url_variable_gets_the_form_it_should_have(blog: Path) -> None:
    done, checks = doctor(blog, url="ftp://img.example.com")

    assert "LSKY_BASE_URL must start with http:// or https://" in checks["host"][1]
    assert advice(done)["host"] == (
        "set LSKY_BASE_URL to your host's API base, e.g. https://img.example.com/api/v1"
    )
