"""Settings: finding the config file, reading it strictly, and resolving host profiles."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path

import pytest

from imgsync.config import (
    Settings,
    find_config,
    load_settings,
    resolve_host,
)
from imgsync.errors import ConfigError
from imgsync.hosts.base import HostProfile, HttpSettings
from imgsync.hosts.options import ProfileOptions
from imgsync.hosts.profile import Trusted
from imgsync.starter_config import starter_config, write_starter_config

ENV = {"LSKY_BASE_URL": "https://img.example.com/api/v1", "LSKY_TOKEN": "sekrit-token-123"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    write(tmp_path / "imgsync.toml", text)
    return load_settings(cwd=tmp_path, env=env or {})


def read_url_and_token(profile: HostProfile) -> dict[str, str | None]:
    """What a host with a `url` and a `token` reads of a resolved profile, ${VAR}s expanded."""
    options = ProfileOptions(profile, ("url", "token"))
    token = options.optional_secret("token", what="a token", if_empty="")
    return {"url": options.url(), "token": token}


# --- finding the file -----------------------------------------------------------------


def test_find_config_looks_in_the_folder_and_its_parents(tmp_path: Path) -> None:
    config = write(tmp_path / "imgsync.toml", "")
    deep = tmp_path / "docs" / "posts"
    deep.mkdir(parents=True)
    assert find_config(deep) == config
    assert find_config(tmp_path) == config


def test_the_nearest_file_wins(tmp_path: Path) -> None:
    write(tmp_path / "imgsync.toml", "")
    nearer = write(tmp_path / "site" / "pyproject.toml", "[tool.imgsync]\njobs = 2\n")
    assert find_config(tmp_path / "site") == nearer


def test_imgsync_toml_wins_over_pyproject_at_the_same_level(tmp_path: Path) -> None:
    config = write(tmp_path / "imgsync.toml", "")
    write(tmp_path / "pyproject.toml", "[tool.imgsync]\njobs = 2\n")
    assert find_config(tmp_path) == config


@pytest.mark.parametrize(
    "text",
    [
        "[project]\nname = 'x'\n",
        "[tool.black]\nline-length = 100\n",
        "[tool.ruff]\nexclude = ['imgsync-notes']\n",  # mentions imgsync, no table
        "this is not [valid toml",  # someone else's broken file is not our business
    ],
)
def test_a_pyproject_without_tool_imgsync_is_passed_over(tmp_path: Path, text: str) -> None:
    config = write(tmp_path / "imgsync.toml", "")
    write(tmp_path / "sub" / "pyproject.toml", text)
    assert find_config(tmp_path / "sub") == config


def test_no_config_file_anywhere(tmp_path: Path) -> None:
    # Nothing above a fresh temporary folder is expected to hold an imgsync.toml.
    assert find_config(tmp_path) is None


# --- loading --------------------------------------------------------------------------


def test_defaults_without_a_config_file(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, env={})
    root = tmp_path.resolve()
    assert settings == Settings(
        root=root,
        config_path=None,
        cache_path=root / ".imgsync-cache.json",
        site_root=root,
        root_found_by="cwd",  # no cache file above, no git work tree
        env={},
    )
    assert settings.include == ("**/*.md", "**/*.markdown")
    assert settings.exclude == ("node_modules/**", ".git/**", ".venv/**")
    assert (settings.jobs, settings.retry.max_attempts, settings.max_size) == (8, 6, None)
    assert (
        settings.retry.rate_limit_wait,
        settings.http.connect_timeout,
        settings.http.read_timeout,
    ) == (
        60.0,
        10.0,
        60.0,
    )
    assert settings.hosts == {} and settings.default_host is None


def test_every_key_and_paths_relative_to_the_file(tmp_path: Path) -> None:
    write(tmp_path / "static" / ".keep", "")
    write(tmp_path / "certs" / "ca.pem", "")
    write(
        tmp_path / "imgsync.toml",
        """
host = "blog"
cache = "state/cache.json"
site_root = "static"
include = ["docs/**/*.md"]
exclude = ["docs/drafts/**"]
max_size = "5MB"
jobs = 8
rate_limit_wait = 30
max_attempts = 6
connect_timeout = 2.5
read_timeout = 90
ca_file = "certs/ca.pem"

[hosts.blog]
type = "lsky"
url = "https://img.example.com/api/v1"
token = "${LSKY_TOKEN}"
strategy_id = 1
""",
    )
    cwd = tmp_path / "docs" / "posts"
    cwd.mkdir(parents=True)
    settings = load_settings(cwd=cwd, env=ENV)
    root = tmp_path.resolve()
    assert settings.root == root
    assert settings.config_path == root / "imgsync.toml"
    assert settings.cache_path == root / "state" / "cache.json"
    assert settings.site_root == root / "static"
    assert settings.http.ca_file == root / "certs" / "ca.pem"
    assert settings.include == ("docs/**/*.md",)
    assert settings.exclude == ("docs/drafts/**",)
    assert settings.max_size == 5 * 1024 * 1024
    assert (settings.jobs, settings.retry.max_attempts) == (8, 6)
    assert settings.retry.rate_limit_wait == 30.0 and isinstance(
        settings.retry.rate_limit_wait, float
    )
    assert (settings.http.connect_timeout, settings.http.read_timeout) == (2.5, 90.0)
    assert settings.default_host == "blog"
    assert settings.hosts == {
        "blog": HostProfile(
            name="blog",
            type="lsky",
            options={
                "url": "https://img.example.com/api/v1",
                "token": "${LSKY_TOKEN}",  # raw: expanded only by resolve_host
                "strategy_id": 1,
            },
            source=root / "imgsync.toml",
        )
    }
    assert settings.env == ENV
    assert settings.http == HttpSettings(
        connect_timeout=2.5, read_timeout=90.0, write_timeout=90.0, ca_file=root / "certs/ca.pem"
    )


def test_tool_imgsync_in_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "blog"\n\n[tool.imgsync]\njobs = 2\n\n'
        '[tool.imgsync.hosts.img]\ntype = "lsky"\nurl = "https://x"\n',
    )
    settings = load_settings(cwd=tmp_path, env={})
    assert settings.config_path == (tmp_path / "pyproject.toml").resolve()
    assert settings.jobs == 2
    assert settings.hosts["img"].options == {"url": "https://x"}


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("1000", 1000),
        ('"500"', 500),
        ('"500B"', 500),
        ('"5MB"', 5 * 1024**2),
        ('"5120KB"', 5 * 1024**2),
        ('"10 MiB"', 10 * 1024**2),
        ('"1.5 kb"', 1536),
        ('"2G"', 2 * 1024**3),
    ],
)
def test_max_size(tmp_path: Path, value: str, size: int) -> None:
    assert load(tmp_path, f"max_size = {value}\n").max_size == size


def test_config_file_given_explicitly(tmp_path: Path) -> None:
    write(tmp_path / "imgsync.toml", "jobs = 2\n")
    other = write(tmp_path / "conf" / "ci.toml", "jobs = 3\ncache = 'c.json'\n")
    settings = load_settings(cwd=tmp_path, config_file=Path("conf/ci.toml"), env={})
    assert settings.config_path == other.resolve()
    assert settings.jobs == 3
    assert settings.root == other.parent.resolve()
    assert settings.cache_path == other.parent.resolve() / "c.json"


# --- errors name the file and the key -------------------------------------------------


CONFIG_ERRORS = [
    ('jobs = "x"', "`jobs` must be a whole number from 1 to 64, not 'x'"),
    ("jobs = 0", "`jobs` must be a whole number from 1 to 64, not 0"),
    ("jobs = 65", "not 65"),
    ("jobs = true", "not True"),
    ("jobs = 2.0", "not 2.0"),
    ("max_attempts = 0", "`max_attempts` must be a whole number from 1 to 20"),
    ("jobz = 4", "unknown key `jobz`; did you mean `jobs`?"),
    ("colour = 'red'", "unknown key `colour`"),
    ("[upload]\njobs = 4", "unknown key `upload`"),
    ('max_size = "5 parsecs"', '`max_size` must be a size such as 5242880 or "5MB"'),
    ("max_size = 0", "`max_size` must be"),
    ("max_size = -5", "`max_size` must be"),
    ('include = "**/*.md"', "`include` must be a list of glob patterns"),
    ('exclude = ["", "a"]', "`exclude` must be a list of glob patterns"),
    ("cache = ''", "`cache` must be a file path"),
    ("cache = 3", "`cache` must be a file path, not 3"),
    ("site_root = 'missing'", "`site_root`: "),
    ("ca_file = 'missing.pem'", "`ca_file`: "),
    ("read_timeout = 0", "`read_timeout` must be a number of seconds above 0"),
    ("connect_timeout = 'soon'", "`connect_timeout` must be a number of seconds"),
    ("rate_limit_wait = -1", "`rate_limit_wait` must be a number of seconds"),
    ("rate_limit_wait = inf", "`rate_limit_wait` must be a number of seconds, not inf"),
    ("rate_limit_wait = nan", "`rate_limit_wait` must be"),
    ('host = ""', "`host` must be the name of a [hosts] profile"),
    ("host = 'blog'", "`host` is 'blog', but no [hosts.NAME] profiles are defined"),
    (
        "host = 'blg'\n[hosts.blog]\ntype = 'lsky'\n[hosts.chev]\ntype = 'chevereto'",
        "`host` is 'blg', but there is no such profile; known: blog, chev",
    ),
    ("hosts = 3", "`hosts` must be a table of [hosts.NAME] tables"),
    ("[host.blog]\ntype = 'lsky'", "`host` is a table, not the name of a profile; did you mean"),
    ("[host.a]\n[host.b]", "did you mean [hosts.a] or [hosts.b]?"),
    ("host = {}", "`host` must be the name of a [hosts] profile, not a table"),
    ("cache = { token = 'x' }", "`cache` must be a file path, not a table"),
    ("cache = ['x']", "`cache` must be a file path, not a list"),
    ("[hosts]\nblog = 'lsky'", "`hosts.blog` must be a table with a `type`"),
    ("[hosts.blog]\nurl = 'https://x'", "`hosts.blog` must be a table with a `type`"),
    ("[hosts.blog]\ntype = 7", "`hosts.blog` must be a table with a `type`"),
    ("jobs = ", "line 1, column 8: not valid TOML: Invalid value"),
    ("jobs = 4\njobs = 5", "line 2, column 9: not valid TOML: Cannot overwrite a value"),
    ("[hosts.blog\n", "line 1, column 12: not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), CONFIG_ERRORS)
def test_config_errors(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path / "imgsync.toml", text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=tmp_path, env={})
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{config.resolve()}: ")
    assert caught.value.path == config.resolve()


@pytest.mark.parametrize("name", ["imgsync.toml", "pyproject.toml"])
def test_a_host_table_under_host_never_shows_its_values(tmp_path: Path, name: str) -> None:
    # Finding 7: this typo printed the profile's dict, token and all.
    prefix = "tool.imgsync." if name == "pyproject.toml" else ""
    token = "1|aLiteralTokenThatMustNotBePrinted0123456789"
    table = f'[{prefix}host.blog]\ntype = "lsky"\nurl = "https://img.example.com/api/v1"\n'
    write(tmp_path / name, f'{table}token = "{token}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=tmp_path, env={})
    text = str(caught.value)
    assert text.endswith(
        f"`{prefix}host` is a table, not the name of a profile; did you mean [{prefix}hosts.blog]?"
    )
    for value in (token, token[2:12], "img.example.com", "lsky"):
        assert value not in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.imgsync]\njobs = 'x'", "`tool.imgsync.jobs` must be a whole number"),
        ("[tool.imgsync]\nhots = 1", "unknown key `tool.imgsync.hots`; did you mean"),
        ("[tool.imgsync.hosts.a]\nurl = 'x'", "`tool.imgsync.hosts.a` must be a table"),
        ("[tool.imgsync]\nhost = 'a'", "`tool.imgsync.host` is 'a'"),
    ],
)
def test_pyproject_errors_name_the_full_key(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", text + "\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: ") as caught:
        load_settings(cwd=tmp_path, env={})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("missing.toml", "does not exist; it was given as the config file (--config)"),
        (".", "is a folder, not the config file (--config)"),
    ],
)
def test_a_config_option_that_names_no_file(tmp_path: Path, given: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=tmp_path, config_file=Path(given), env={})
    assert message in str(caught.value)
    assert caught.value.path == (tmp_path / given).resolve()


def test_a_pyproject_given_explicitly_needs_the_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"has no \[tool.imgsync\] table"):
        load_settings(cwd=tmp_path, config_file=Path("pyproject.toml"), env={})


def test_a_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "imgsync.toml").write_bytes(b"host = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(cwd=tmp_path, env={})


# --- the environment fallback ---------------------------------------------------------


@pytest.mark.parametrize("config", [None, "jobs = 2\n"])
def test_lsky_variables_alone_make_a_profile(tmp_path: Path, config: str | None) -> None:
    if config is not None:
        write(tmp_path / "imgsync.toml", config)
    settings = load_settings(cwd=tmp_path, env=ENV)
    assert settings.default_host == "lsky"
    assert settings.hosts == {
        "lsky": HostProfile(
            name="lsky",
            type="lsky",
            options={"url": "${LSKY_BASE_URL}", "token": "${LSKY_TOKEN}"},
            from_environment={"url": "LSKY_BASE_URL", "token": "LSKY_TOKEN"},
        )
    }
    profile = resolve_host(settings, None)
    assert read_url_and_token(profile) == {"url": ENV["LSKY_BASE_URL"], "token": ENV["LSKY_TOKEN"]}


def test_lsky_base_url_without_a_token(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, env={"LSKY_BASE_URL": "https://x/api/v1"})
    profile = resolve_host(settings, None)
    assert read_url_and_token(profile) == {"url": "https://x/api/v1", "token": None}


def test_profiles_in_the_file_win_over_the_environment(tmp_path: Path) -> None:
    settings = load(tmp_path, "[hosts.chev]\ntype = 'chevereto'\n", env=ENV)
    assert list(settings.hosts) == ["chev"]


def test_no_lsky_base_url_no_profile(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, env={"LSKY_TOKEN": "t", "LSKY_BASE_URL": ""})
    assert settings.hosts == {}


# --- resolve_host ---------------------------------------------------------------------


TWO_HOSTS = """
[hosts.blog]
type = "lsky"
url = "https://img.example.com/api/v1"
token = "${LSKY_TOKEN}"
note = "costs $${DOLLARS}, not ${LSKY_BASE_URL}"
strategy_id = 1
headers = { X-Auth = "Bearer ${LSKY_TOKEN}" }
mirrors = ["${LSKY_BASE_URL}/a", "plain"]

[hosts.chev]
type = "chevereto"
url = "https://img.example.org/api/1"
key = "${CHEVERETO_API_KEY}"
"""


def test_resolve_host_keeps_options_as_written_and_adds_the_environment(tmp_path: Path) -> None:
    # Expanding is the host's reading (ProfileOptions): only it knows which keys are secrets.
    env = {**ENV, "IMGSYNC_HOST_URL": "https://img.example.com/api/v1", "IMGSYNC_ALLOW_HTTP": "1"}
    settings = load(tmp_path, 'host = "blog"\n' + TWO_HOSTS, env=env)
    profile = resolve_host(settings, None)
    assert profile.name == "blog" and profile.type == "lsky"
    assert profile.options == settings.hosts["blog"].options
    assert profile.options["token"] == "${LSKY_TOKEN}"
    assert profile.trusted == Trusted(env, "https://img.example.com/api/v1", allow_http=True)
    assert ENV["LSKY_TOKEN"] not in repr(profile)  # the environment is left out of its repr
    assert not resolve_host(load(tmp_path, TWO_HOSTS, env=ENV), "blog").trusted.allow_http


def test_resolve_host_by_name_and_the_only_profile(tmp_path: Path) -> None:
    settings = load(tmp_path, TWO_HOSTS, env={**ENV, "CHEVERETO_API_KEY": "k"})
    chev = ProfileOptions(resolve_host(settings, "chev"), ("key", "url"))
    assert chev.secret("key", what="a key", hint="") == "k"
    only = load(tmp_path, "[hosts.solo]\ntype = 'pichub'\n")
    assert resolve_host(only, None).name == "solo"


@pytest.mark.parametrize(
    ("config", "name", "message"),
    [
        (TWO_HOSTS, None, 'several host profiles (blog, chev) and no default: set `host = "NAME"`'),
        (TWO_HOSTS, "nope", "--host is 'nope', but there is no such profile; known: blog, chev"),
    ],
)
def test_resolve_host_errors(tmp_path: Path, config: str, name: str | None, message: str) -> None:
    settings = load(tmp_path, config, env=ENV)
    with pytest.raises(ConfigError) as caught:
        resolve_host(settings, name)
    text = str(caught.value)
    assert message in text
    assert text.startswith(f"{(tmp_path / 'imgsync.toml').resolve()}: ")
    for secret in ENV.values():
        assert secret not in text


@pytest.mark.parametrize("config", [None, "jobs = 2\n"])
def test_no_host_at_all(tmp_path: Path, config: str | None) -> None:
    if config is not None:
        write(tmp_path / "imgsync.toml", config)
    settings = load_settings(cwd=tmp_path, env={"LSKY_TOKEN": ENV["LSKY_TOKEN"]})
    with pytest.raises(ConfigError) as caught:
        resolve_host(settings, None)
    assert str(caught.value).endswith(
        "no image host is configured: run `imgsync init` to write a starter imgsync.toml,"
        " or set LSKY_BASE_URL and LSKY_TOKEN in the environment"
    )
    assert caught.value.path == settings.config_path


def test_a_missing_variable_in_the_fallback_profile(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, env=ENV)
    broken = dataclasses.replace(settings, env={"LSKY_BASE_URL": ENV["LSKY_BASE_URL"]})
    with pytest.raises(ConfigError, match="LSKY_TOKEN is not set") as caught:
        read_url_and_token(resolve_host(broken, None))
    assert ENV["LSKY_BASE_URL"] not in str(caught.value)


# --- imgsync init ---------------------------------------------------------------------


def test_the_starter_config_is_valid_and_loads(tmp_path: Path) -> None:
    text = starter_config()
    assert text.startswith("# ") and text.endswith("\n")
    parsed = tomllib.loads(text)
    assert parsed["hosts"]["lsky"] == {
        "type": "lsky",
        "url": "${LSKY_BASE_URL}",
        "token": "${LSKY_TOKEN}",
    }
    path = tmp_path / "imgsync.toml"
    write_starter_config(path, force=False)
    assert path.read_text("utf-8") == text
    settings = load_settings(cwd=tmp_path, env=ENV)
    assert settings.config_path == path.resolve()
    assert settings.default_host == "lsky"
    profile = resolve_host(settings, None)
    assert read_url_and_token(profile) == {"url": ENV["LSKY_BASE_URL"], "token": ENV["LSKY_TOKEN"]}
    assert profile.source == path.resolve()


def test_init_keeps_an_existing_file_unless_forced(tmp_path: Path) -> None:
    path = write(tmp_path / "imgsync.toml", "jobs = 2\n")
    with pytest.raises(ConfigError, match=r"already exists; .*imgsync init --force"):
        write_starter_config(path, force=False)
    assert path.read_text("utf-8") == "jobs = 2\n"
    write_starter_config(path, force=True)
    assert path.read_text("utf-8") == starter_config()
    assert os.listdir(tmp_path) == ["imgsync.toml"]


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.jobs = 8  # type: ignore[misc]


@pytest.mark.parametrize("cache", ["../c.json", "/tmp/c.json", "sub/../../c.json", "link/c.json"])
def test_a_cache_outside_the_project_is_refused_naming_the_key(tmp_path: Path, cache: str) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    (project / "link").symlink_to(tmp_path)
    write(project / "pyproject.toml", f"[tool.imgsync]\ncache = {cache!r}\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=project, env={})

    assert str(caught.value) == (
        f"{project / 'pyproject.toml'}: `tool.imgsync.cache` names a file outside the project"
        f" ({project}, the folder of this file), directly or through a symbolic link;"
        " keep the cache inside the project"
    )


def test_a_cache_inside_the_project_may_be_reached_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "c.json").symlink_to("data/real.json")
    settings = load(tmp_path, 'cache = "c.json"\n')
    assert settings.cache_path == tmp_path.resolve() / "data" / "real.json"
