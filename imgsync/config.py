"""The settings of one run: defaults, then imgsync.toml or [tool.imgsync], then the environment."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from .config_keys import (
    KEY_RULES,
    OWNED_KEYS,
    PATH_KEYS,
    PROCESSING_RULES,
    STRIP_EXPECTED,
    strip_mode,
    wrong,
)
from .environment import (
    ALLOW_HTTP_VARIABLE,
    ALLOW_SCRIPTS_VARIABLE,
    LSKY_URL_VARIABLE,
    PARALLEL_VARIABLE,
    PIN_VARIABLE,
)
from .errors import ConfigError, OutsideProject
from .files import confined, is_inside, state_dir
from .hosts.profile import HostProfile, HttpSettings, Trusted, served_prefixes
from .markdown.cores import PARALLEL_FROM_CHARS
from .markdown.front_matter_keys import DEFAULT_KEYS as DEFAULT_FRONT_MATTER_KEYS
from .transfer.retry_policy import RetryPolicy

CONFIG_NAME = "imgsync.toml"
CACHE_NAME = ".imgsync-cache.json"
DEFAULT_INCLUDE = ("**/*.md", "**/*.markdown")
DEFAULT_EXCLUDE = ("node_modules/**", ".git/**", ".venv/**")
DEFAULT_JOBS = 8  # uploads at once: they wait on latency, and host limits are obeyed anyway
# A pull request writes imgsync.toml: its cache must not read or overwrite another file.
_CACHE_OUTSIDE = (
    "`{key}` names a file outside the project ({root}, the folder of this file),"
    " directly or through a symbolic link; keep the cache inside the project"
)
# ...nor choose a file elsewhere on the machine for imgsync to read and trust.
_CA_OUTSIDE = (
    "`{key}` names a file outside the project ({root}, the folder of this file),"
    " directly or through a symbolic link; keep it in the project, or set SSL_CERT_FILE"
    " in the environment for a CA the whole machine trusts"
)
ALLOW_HTTP_ON = "1"  # IMGSYNC_ALLOW_HTTP's one value that allows: no config key can
_PATH_OUTSIDE = (
    "`{key}` names {path}, outside the project ({root}, the folder of this file),"
    " directly or through a symbolic link; list folders and files inside the project"
)
# How the project root was found: the config file's folder, the folder of a cache file found
# upward, the git work tree's top, or (none of those) the current folder.
RootFoundBy = Literal["config", "cache", "git", "cwd"]


class ProjectRoot(NamedTuple):
    """The project's top folder, and which rule found it (doctor says which)."""

    path: Path
    found_by: RootFoundBy


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, built once by load_settings() and passed down."""

    root: Path  # the config file's folder; without one, what find_project_root() says
    config_path: Path | None
    cache_path: Path
    site_root: Path  # where "/images/a.png" is looked up
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    ignore: tuple[str, ...] = ()  # references left alone on purpose (ignore.py)
    front_matter_keys: tuple[str, ...] = DEFAULT_FRONT_MATTER_KEYS  # image fields of front matter
    # "typora": its raw-space images are hosted, not reported; "obsidian": a Markdown image's
    # path that names no file from the note's folder is looked up in the vault, as Obsidian does
    dialect: str = "commonmark"
    max_size: int | None = None  # bytes; the host's own limit applies as well
    strip_metadata: str = "location"  # docs/privacy.md; a profile may say otherwise
    # Processing before upload (docs/processing.md); a profile may say otherwise, key by key.
    max_width: int | None = None
    max_height: int | None = None
    convert: str | None = None
    quality: int | None = None
    reprocess: bool = False  # --reprocess: upload again images cached with other processing
    jobs: int = DEFAULT_JOBS
    default_host: str | None = None
    hosts: Mapping[str, HostProfile] = field(default_factory=dict)  # as written: ${VAR}s kept
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    http: HttpSettings = field(default_factory=HttpSettings)
    parallel_from_chars: int = PARALLEL_FROM_CHARS  # text from which parsing uses every core
    env: Mapping[str, str] = field(default_factory=dict)  # captured once, read nowhere else
    paths: tuple[Path, ...] = ()  # `paths` of the config: what a run without PATH covers
    # The paths the config names (`paths`, `cache`, `site_root`, `ca_file`) as written, in
    # its folder, before their links were resolved: where those lead is the run memo's to
    # check again (run_memo_write.py).
    written_paths: tuple[Path, ...] = ()
    root_found_by: RootFoundBy = "config"

    @property
    def allow_svg_scripts(self) -> bool:
        """Only the environment says so: a pull request could switch on a repository key."""
        return self.env.get(ALLOW_SCRIPTS_VARIABLE) == "1"

    @property
    def allow_http(self) -> bool:
        """http:// to hosts off this machine, and URLs from them: the environment's choice."""
        return self.env.get(ALLOW_HTTP_VARIABLE, "").strip() == ALLOW_HTTP_ON

    @property
    def project_paths(self) -> tuple[Path, ...]:
        """What `imgsync` and `imgsync check` without a PATH work on: `paths`, else the root."""
        return self.paths or (self.root,)

    def default_paths(self) -> tuple[Path, ...]:
        """`project_paths`, for a command given no PATH.

        The home folder is no project by default: when the root is only the current folder
        (no config, no cache, no git work tree found) and that is the home folder (HOME, as
        find_project_root reads it), ConfigError: a bare `imgsync` there would rewrite every
        Markdown file under it.
        """
        home = self.env.get("HOME")
        if self.root_found_by == "cwd" and home and _same_folder(self.root, Path(home)):
            raise ConfigError(
                f"{self.root} is your home folder, and no project was found here (no "
                "imgsync.toml, no .imgsync-cache.json, no git work tree): name what to sync, "
                "e.g. `imgsync notes/`, or run imgsync in the project's folder"
            )
        return self.project_paths

    @property
    def state_dir(self) -> Path:
        """imgsync's own working files (locks, stamps), beside the cache: never committed."""
        return state_dir(self.cache_path)


def find_config(start: Path) -> Path | None:
    """The nearest imgsync.toml, or pyproject.toml with [tool.imgsync], from `start` up."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return _in_its_folder(folder / CONFIG_NAME)
        pyproject = folder / "pyproject.toml"
        # The substring test spares parsing (and failing on) unrelated pyproject files.
        if pyproject.is_file() and "imgsync" in _read_text(_in_its_folder(pyproject)):
            tool = _parse_toml(pyproject).get("tool")
            if isinstance(tool, dict) and "imgsync" in tool:
                return pyproject
    return None


def find_project_root(start: Path, *, home: Path | None = None) -> ProjectRoot:
    """The project's root when there is no config file, so that every folder of a project
    shares one cache: the nearest folder from `start` up holding the cache file, else the
    git work tree's top, else `start` itself.

    The search never leaves the git work tree (a folder holding `.git`: a folder, or a file
    for worktrees and submodules), so a cache file above a repository is never adopted; nor
    does it reach `home` (the user's home folder) from below: a stray cache there (an
    `imgsync upload` run in it) or a dotfiles repository at ~ would make a run in ~/notes
    sync, and rewrite, every Markdown file of the home folder. Without either it goes up to
    the filesystem's root. `git` itself is not run: it is slow.
    """
    start = start.resolve()
    top = home.resolve() if home is not None else None
    for folder in (start, *start.parents):
        if folder == top and folder != start:
            break
        if (folder / CACHE_NAME).is_file():
            return ProjectRoot(folder, "cache")
        if (folder / ".git").exists():
            return ProjectRoot(folder, "git")
    return ProjectRoot(start, "cwd")


def load_settings(
    *, cwd: Path, config_file: Path | None = None, env: Mapping[str, str]
) -> Settings:
    """Settings from `config_file` (a --config path) or the config file found from `cwd`."""
    path = find_config(cwd) if config_file is None else (cwd / config_file).resolve()
    if path is None:
        home = env.get("HOME")
        root, found_by = find_project_root(cwd, home=Path(home) if home else None)
        settings = Settings(
            root, None, root / CACHE_NAME, root, root_found_by=found_by, env=dict(env)
        )
        return _with_env_host(_with_env_knobs(settings))
    if not path.is_file():
        what = "is a folder, not" if path.is_dir() else "does not exist; it was given as"
        raise ConfigError(f"{what} the config file (--config)", path)
    table: Any = _parse_toml(path)
    prefix = ""
    if path.name == "pyproject.toml":
        tool, prefix = table.get("tool"), "tool.imgsync."
        table = tool.get("imgsync") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise ConfigError("has no [tool.imgsync] table", path)
    return _with_env_host(_with_env_knobs(_build(table, path, prefix, env)))


def _build(table: dict[str, Any], path: Path, prefix: str, env: Mapping[str, str]) -> Settings:
    root = path.parent
    values: dict[str, Any] = {}
    written: list[Path] = []
    for key, value in table.items():
        if key == "hosts":
            continue
        if key not in KEY_RULES:
            import difflib  # the standard library's, and only for this mistake

            close = difflib.get_close_matches(key, [*KEY_RULES, "hosts"], n=1)
            hint = f"; did you mean `{prefix}{close[0]}`?" if close else ""
            raise ConfigError(f"unknown key `{prefix}{key}`{hint}", path)
        expected, check = KEY_RULES[key]
        checked = check(value)
        if checked is None:
            if key == "host" and isinstance(value, dict) and value:
                # [host.blog] for [hosts.blog]: its table may hold a token, so never show it.
                meant = " or ".join(f"[{prefix}hosts.{name}]" for name in list(value)[:3])
                problem = f"is a table, not the name of a profile; did you mean {meant}?"
                raise ConfigError(f"`{prefix}host` {problem}", path)
            raise ConfigError(f"`{prefix}{key}` {wrong(expected, value)}", path)
        if key in PATH_KEYS:
            written.append(root / checked)
            checked = _usable_path(root / checked, f"{prefix}{key}", path)
        if key == "paths":
            written.extend(root / entry for entry in checked)
            checked = _project_paths(checked, root, f"{prefix}{key}", path)
        values[key] = checked
    site_root = values.pop("site_root", root)
    if not site_root.is_dir():
        raise ConfigError(f"`{prefix}site_root`: {site_root} is not a folder", path)
    ca_file = values.get("ca_file")
    if ca_file and not ca_file.is_file():
        raise ConfigError(f"`{prefix}ca_file`: {ca_file} is not a file", path)
    if "cache" in values and not is_inside(values["cache"], root):
        raise ConfigError(_CACHE_OUTSIDE.format(key=f"{prefix}cache", root=root), path)
    if ca_file and not is_inside(ca_file, root):
        raise ConfigError(_CA_OUTSIDE.format(key=f"{prefix}ca_file", root=root), path)
    # Each key goes to the record that owns it: Settings, its RetryPolicy or its HttpSettings.
    owned = {
        owner: {key: values.pop(key) for key in fields if key in values}
        for owner, fields in OWNED_KEYS.items()
    }
    http = owned["http"]
    if "read_timeout" in http:  # sending gets the patience of reading
        http["write_timeout"] = http["read_timeout"]
    hosts = _profiles(table.get("hosts", {}), path, prefix)
    _processing_available(values, hosts, path, prefix)
    return Settings(
        root,
        path,
        values.pop("cache", root / CACHE_NAME),
        site_root,
        default_host=values.pop("host", None),
        hosts=hosts,
        retry=RetryPolicy(**owned["retry"]),
        http=HttpSettings(**http),
        env=dict(env),
        written_paths=tuple(written),
        **values,
    )


def _with_env_knobs(settings: Settings) -> Settings:
    """Knobs for tests and benchmarks that only the environment (never a repository) sets."""
    threshold = settings.env.get(PARALLEL_VARIABLE, "")
    if not threshold.isdigit():
        return settings
    return dataclasses.replace(settings, parallel_from_chars=int(threshold))


def _profiles(hosts: Any, path: Path, prefix: str) -> dict[str, HostProfile]:
    if not isinstance(hosts, dict):
        raise ConfigError(f"`{prefix}hosts` must be a table of [hosts.NAME] tables", path)
    profiles = {}
    for name, table in hosts.items():
        kind = table.get("type") if isinstance(table, dict) else None
        if not isinstance(kind, str) or not kind:
            where = f"`{prefix}hosts.{name}`"
            raise ConfigError(f'{where} must be a table with a `type`, such as "lsky"', path)
        generic = ("type", "serves", "strip_metadata", *PROCESSING_RULES)
        options = {k: v for k, v in table.items() if k not in generic}
        processing: dict[str, Any] = {}  # generic too: what is sent, whatever the host
        for key, (expected, check) in PROCESSING_RULES.items():
            if key in table and (processing.setdefault(key, check(table[key])) is None):
                where = f"`{prefix}hosts.{name}.{key}`"
                raise ConfigError(f"{where} {wrong(expected, table[key])}", path)
        try:  # every host type takes `serves`: read here, so no host sees it
            serves = served_prefixes(table.get("serves", []))
        except ValueError as error:
            raise ConfigError(f"`{prefix}hosts.{name}.serves` {error}", path) from None
        strip = table.get("strip_metadata")  # generic too: what leaves, whatever the host
        if strip is not None and strip_mode(strip) is None:
            where = f"`{prefix}hosts.{name}.strip_metadata`"
            raise ConfigError(f"{where} {wrong(STRIP_EXPECTED, strip)}", path)
        profiles[name] = HostProfile(
            name,
            kind,
            options,
            source=path,
            serves=serves,
            strip_metadata=strip,
            processing=processing,
        )
    return profiles


def _processing_available(
    values: Mapping[str, Any], hosts: Mapping[str, HostProfile], path: Path, prefix: str
) -> None:
    """ConfigError when processing is asked for but Pillow (or its AVIF) is not there."""
    asked = [(key, values[key]) for key in PROCESSING_RULES if key in values]
    asked += [(f"hosts.{p.name}.{k}", v) for p in hosts.values() for k, v in p.processing.items()]
    if not asked:
        return
    from .processing import unavailable

    for key, value in sorted(asked, key=lambda pair: pair[1] != "avif"):  # AVIF's key first
        problem = unavailable([str(value)])
        if problem is not None:
            raise ConfigError(f"`{prefix}{key}`: processing images {problem}", path)


def _with_env_host(settings: Settings) -> Settings:
    """Without any profile, LSKY_BASE_URL (and LSKY_TOKEN) make one, as the old scripts did."""
    if not settings.hosts and settings.env.get("LSKY_BASE_URL"):
        options = {"url": "${LSKY_BASE_URL}"}
        if "LSKY_TOKEN" in settings.env:
            options["token"] = "${LSKY_TOKEN}"
        # Messages name these variables, as the user set them, instead of 'url' and 'token'.
        variables = {"url": LSKY_URL_VARIABLE, "token": "LSKY_TOKEN"}
        profile = HostProfile("lsky", "lsky", options, from_environment=variables)
        hosts = {"lsky": profile}
        default = settings.default_host or "lsky"
        settings = dataclasses.replace(settings, hosts=hosts, default_host=default)
    name, path = settings.default_host, settings.config_path
    if name is not None and name not in settings.hosts:
        key = "tool.imgsync.host" if path and path.name == "pyproject.toml" else "host"
        raise ConfigError(f"`{key}` is {name!r}, but {_no_profile(settings)}", path)
    return settings


def resolve_host(settings: Settings, name: str | None) -> HostProfile:
    """The profile `name`, else the default, else the only one, with what the environment says."""
    hosts, path = settings.hosts, settings.config_path
    if not hosts:
        raise ConfigError(
            "no image host is configured: run `imgsync init` to write a starter imgsync.toml,"
            " or set LSKY_BASE_URL and LSKY_TOKEN in the environment",
            path,
        )
    if name is None:
        name = settings.default_host or (next(iter(hosts)) if len(hosts) == 1 else None)
    if name is None:
        raise ConfigError(
            f"there are several host profiles ({', '.join(sorted(hosts))}) and no default:"
            ' set `host = "NAME"` in the config or pass --host NAME',
            path,
        )
    if name not in hosts:
        raise ConfigError(f"--host is {name!r}, but {_no_profile(settings)}", path)
    # The host reads its options through ProfileOptions, which expands ${VAR} only where a
    # secret belongs and holds the URL to what the environment allows.
    trusted = Trusted(
        variables=settings.env, pinned_url=_pinned_url(settings), allow_http=settings.allow_http
    )
    return dataclasses.replace(hosts[name], trusted=trusted)


def _pinned_url(settings: Settings) -> str | None:
    """The host URL the environment pins: IMGSYNC_HOST_URL, else LSKY_BASE_URL.

    LSKY_BASE_URL pins too: a job that was told "LSKY_BASE_URL and LSKY_TOKEN are enough"
    must not have a pull request's profile send the token elsewhere. A pin that is set but
    empty (an undefined CI variable expands to "") is an error, never "no pin".
    """
    env = settings.env
    for name in (PIN_VARIABLE, LSKY_URL_VARIABLE):
        if name in env:
            if not env[name].strip():
                raise ConfigError(
                    f"{name} is set but empty, so it pins no host: is the CI variable it comes"
                    " from defined for this job? Set it to the host's API URL, or unset it"
                )
            return env[name].strip()
    return None


def _project_paths(listed: tuple[str, ...], root: Path, key: str, config: Path) -> tuple[Path, ...]:
    """`paths` resolved against the config's folder: each must exist inside the project (a
    pull request writes them; a run must not walk the machine from them)."""
    found = []
    for entry in listed:
        resolved = _usable_path(root / entry, key, config)
        if not is_inside(resolved, root):
            raise ConfigError(_PATH_OUTSIDE.format(key=key, path=repr(entry), root=root), config)
        if not resolved.exists():
            raise ConfigError(f"`{key}`: {entry!r} does not exist (in {root})", config)
        found.append(resolved)
    return tuple(dict.fromkeys(found))


def _usable_path(candidate: Path, key: str, config: Path) -> Path:
    """`candidate` resolved, or a ConfigError if the system can't use it as a path at all
    (a NUL byte, a name too long): a pull request writes these values."""
    try:
        resolved = candidate.resolve()
        os.stat(resolved)
    except FileNotFoundError:
        return resolved  # absent is for the caller to judge
    except (ValueError, OSError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError(f"`{key}`: not a usable path ({reason})", config) from None
    return resolved


def _in_its_folder(path: Path) -> Path:
    """A config file a pull request may have made a link: it must not lead out of its folder,
    or imgsync would read (and quote, in its errors) a file elsewhere on the machine."""
    try:
        confined(path, path.parent)
    except OutsideProject as error:
        raise ConfigError(error.reason, path) from None
    return path


def _parse_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read_text(path))
    except RecursionError:  # only a hostile file nests arrays or tables this deep
        raise ConfigError("is nested too deeply to be a configuration file", path) from None
    except tomllib.TOMLDecodeError as err:
        # tomllib's only way to tell where: "Invalid value (at line 2, column 5)".
        reason, _, where = str(err).rpartition(" (at ")
        if not reason:
            reason, where = str(err), ""
        raise ConfigError(f"{where.rstrip(')')}: not valid TOML: {reason}", path) from None


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"is not UTF-8 text (byte {err.start})", path) from None
    except OSError as err:
        raise ConfigError(f"can't be read: {err.strerror or err}", path) from None


def _no_profile(settings: Settings) -> str:
    if not settings.hosts:
        return "no [hosts.NAME] profiles are defined"
    return f"there is no such profile; known: {', '.join(sorted(settings.hosts))}"


def _same_folder(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except (RuntimeError, OSError):  # a link loop: not the same folder as far as we can tell
        return False
