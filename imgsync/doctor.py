"""`imgsync doctor`: the set-up checked end to end, uploading nothing.

Each check is one record with a verdict, what was found and, when it failed, what to do:
a new user learns in one run whether the config, the cache, the host and the token work,
before the first sync uploads anything. A check whose ground failed (no host, no network)
is skipped and says why, rather than failing again for the same cause.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .config import CACHE_NAME, Settings, load_settings, resolve_host
from .environment import LSKY_URL_VARIABLE, PIN_VARIABLE
from .errors import (
    AuthError,
    CacheError,
    ConfigError,
    HostError,
    HostUnreachable,
    RateLimited,
    TransientHostError,
    WrongEndpoint,
)
from .files import made_read_only
from .hosts.host_url import redact_url
from .hosts.profile import named_by_origin
from .hosts.reachability import reach
from .report import EXIT_OK, EXIT_WORK_LEFT

if TYPE_CHECKING:
    from .hosts.base import Host, HostProfile

Verdict = Literal["ok", "fail", "skip", "note"]  # note: nothing wrong, but nothing proven
EXIT_PROBLEM = EXIT_WORK_LEFT  # 1, as for `check`: something to fix before a sync does its job
_WHOLE_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ROOT_FOUND_BY = {
    "config": "the folder of the config file",
    "cache": f"the folder of the {CACHE_NAME} found here or above",
    "git": "the top of the git work tree",
    "cwd": (
        "the current folder: no cache file here or above, and no git work tree (your home"
        " folder is not searched from below it)"
    ),
}


@dataclass(frozen=True)
class Check:
    """One line of the diagnosis: `name` is stable (the JSON's key), the texts are for people."""

    name: str
    verdict: Verdict
    found: str
    advice: str = ""  # what to do, when the verdict is "fail"


@dataclass
class Diagnosis:
    """Every check, in the order run; the exit status follows from their verdicts."""

    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.verdict != "fail" for check in self.checks)

    def exit_status(self) -> int:
        return EXIT_OK if self.passed else EXIT_PROBLEM

    def add(self, name: str, verdict: Verdict, found: str, advice: str = "") -> bool:
        """Record a check; True if it did not fail, for the checks that build on it."""
        self.checks.append(Check(name, verdict, found, advice))
        return verdict != "fail"

    def name_variables(self, first: int, variables: Mapping[str, str]) -> None:
        """From check `first` on, say `LSKY_BASE_URL` where the advice says `'url'`, for a
        profile the environment made: the user never wrote a `url` key."""
        for index in range(first, len(self.checks)):
            check = self.checks[index]
            self.checks[index] = replace(
                check,
                found=named_by_origin(check.found, variables),
                advice=named_by_origin(check.advice, variables),
            )

    def skip(self, names: Sequence[str], why: str) -> None:
        for name in names:
            self.add(name, "skip", f"not run: {why}")


def diagnose(
    *,
    cwd: Path,
    config_file: Path | None,
    env: Mapping[str, str],
    host_name: str | None = None,
    paths: Sequence[Path] = (),
) -> Diagnosis:
    """Run every check in order: config, root, cache, host, network, token, sync."""
    diagnosis = Diagnosis()
    try:
        settings = load_settings(cwd=cwd, config_file=config_file, env=env)
    except ConfigError as error:
        diagnosis.add("config", "fail", str(error), advice_for(error, _fix_config(error)))
        diagnosis.skip(("root", "cache", "host", "network", "token", "sync"), "no settings")
        return diagnosis
    _config(settings, diagnosis)
    _root(settings, diagnosis)
    _cache(settings, diagnosis)
    _host_checks(settings, host_name, diagnosis)
    _sync(settings, host_name, paths, diagnosis)
    return diagnosis


# An error that already says what to do: `found` says it, the advice would only repeat it.
_SAYS_WHAT_TO_DO = re.compile(
    r"(?:^|[:;,.?]\s|\bor\s|\bthen\s)(?:run|set|write|pass|remove|replace|restore|make|name|"
    r"fix|use|move|unset|put|give|add|delete|keep|chmod)\b",
    re.IGNORECASE,
)
_UNSET_VARIABLE = re.compile(
    r"'(?P<key>[\w.]+)' uses \$\{(?P<var>\w+)\}, but the environment variable (?P=var) is not set"
)
_URL_VARIABLES = (PIN_VARIABLE, LSKY_URL_VARIABLE)  # a host URL the environment gives
_API_BASE_EXAMPLE = {
    "lsky": "https://img.example.com/api/v1",
    "chevereto": "https://img.example.com/api/1",
    "pichub": "https://api.pichub.app/api/v1",
}


def advice_for(error: Exception, fallback: str, host_type: str = "lsky") -> str:
    """What to do about a config or cache error, never repeating it: a concrete step for a
    variable left unset or wrong (the message names only the variable), none when the message
    already says what to do, else `fallback`."""
    text = str(error)
    if unset := _UNSET_VARIABLE.search(text):
        var, key = unset["var"], unset["key"]
        if key == "url":
            return _set_url(var, host_type)
        return f"set {var} in the environment to the host's {key} (in CI: from a secret)"
    if _SAYS_WHAT_TO_DO.search(text):
        return ""
    url_variable = next((v for v in _URL_VARIABLES if v in text), None)
    if url_variable is not None and getattr(error, "path", None) is None:  # the environment's
        return _set_url(url_variable, host_type)
    return fallback


def _set_url(variable: str, host_type: str) -> str:
    example = _API_BASE_EXAMPLE.get(host_type)
    return f"set {variable} to your host's API base" + (f", e.g. {example}" if example else "")


def _fix_config(error: ConfigError) -> str:
    """The step for a config error whose message says only what is wrong: where to edit."""
    if error.path is None:
        return "correct the environment variable it names, then run `imgsync doctor` again"
    return f"correct it in {error.path}, then run `imgsync doctor` again"


def _config(settings: Settings, diagnosis: Diagnosis) -> None:
    path = settings.config_path
    if path is not None:
        table = " ([tool.imgsync])" if path.name == "pyproject.toml" else ""
        diagnosis.add("config", "ok", f"{path}{table}")
    elif settings.hosts:
        named = [LSKY_URL_VARIABLE, *(["LSKY_TOKEN"] if "LSKY_TOKEN" in settings.env else [])]
        diagnosis.add(
            "config",
            "ok",
            f"no config file: the environment alone ({' and '.join(named)})",
        )
    else:
        diagnosis.add(
            "config",
            "fail",
            "no imgsync.toml or [tool.imgsync] here or above, and LSKY_BASE_URL is not set",
            "run `imgsync init` at the project's top, or set LSKY_BASE_URL and LSKY_TOKEN",
        )


def _root(settings: Settings, diagnosis: Diagnosis) -> None:
    covers = ", ".join(str(p) for p in settings.paths) if settings.paths else "the whole root"
    why = _ROOT_FOUND_BY[settings.root_found_by]
    diagnosis.add("root", "ok", f"{settings.root} ({why}); a run without PATH covers {covers}")


def _cache(settings: Settings, diagnosis: Diagnosis) -> None:
    from .cache import UploadCache  # the cache reader: the sync check below needs it anyway

    path = settings.cache_path
    folder_writable = os.access(path.parent, os.W_OK)
    if not path.exists():
        if folder_writable:
            found = f"{path} does not exist yet: the first upload creates it (then commit it)"
            diagnosis.add("cache", "ok", found)
        else:
            diagnosis.add(
                "cache",
                "fail",
                f"{path} does not exist and its folder is not writable",
                "make the folder writable, or set `cache` to a file in a writable folder",
            )
        return
    try:
        UploadCache.open(path, project=settings.root, allow_http=settings.allow_http)
    except CacheError as error:
        fallback = f"restore it from git (`git checkout -- {path.name}` in its folder)"
        diagnosis.add("cache", "fail", str(error), advice_for(error, fallback))
        return
    if made_read_only(path) or not folder_writable:
        what = "the file" if made_read_only(path) else "its folder"
        diagnosis.add(
            "cache",
            "fail",
            f"{path} is valid but {what} is read-only: new uploads could not be recorded",
            "make it writable (chmod u+w)",
        )
        return
    diagnosis.add("cache", "ok", f"{path}: readable, writable and valid")


def _host_checks(settings: Settings, host_name: str | None, diagnosis: Diagnosis) -> None:
    """host, network and token: the profile, the way to it, and the credentials."""
    from .hosts import create_host
    from .hosts.base import make_http_client

    profile: HostProfile | None = None
    try:
        profile = resolve_host(settings, host_name)
        first = len(diagnosis.checks)
        with make_http_client(settings.http) as http:
            host = create_host(profile, http)
            url = host.identity.partition(" ")[2]
            if getattr(host, "on_this_machine", False):  # a folder of the site, a command
                diagnosis.add("host", "ok", f"profile {profile.name!r} ({profile.type}) {url}")
                diagnosis.skip(("network",), "the host is on this machine")
                _token(host, diagnosis)
                return
            token = _token_source(profile, type(host), settings)
            found = f"profile {profile.name!r} ({profile.type}) at {redact_url(url)}; {token}"
            diagnosis.add("host", "ok", found)
            if diagnosis.add("network", *reach(url, settings.http)):
                if _token(host, diagnosis):
                    _album(profile, host, diagnosis)
            else:
                diagnosis.skip(("token",), "the host can't be reached")
        diagnosis.name_variables(first, profile.from_environment)
    except ConfigError as error:
        kind = profile.type if profile is not None else "lsky"
        diagnosis.add("host", "fail", str(error), advice_for(error, _fix_config(error), kind))
        diagnosis.skip(("network", "token"), "no usable host profile")


def _token_source(profile: HostProfile, cls: type[Host], settings: Settings) -> str:
    """Where the credential comes from, never its value."""
    option = getattr(cls, "secret_option", "token")
    raw = profile.options.get(option)
    if raw is None:
        return f"no {option} set"
    whole = _WHOLE_VARIABLE.fullmatch(raw) if isinstance(raw, str) else None
    if whole:
        return f"{option} set, from {whole.group(1)} in the environment"
    where = profile.source or settings.config_path or "the config file"
    return (
        f'{option} set, written in {where} (better: {option} = "${{VARIABLE}}" and the value '
        "in the environment, so it is never committed)"
    )


def _album(profile: HostProfile, host: Host, diagnosis: Diagnosis) -> None:
    """album: only for a profile that names one (`album` or `album_id`)."""
    from .hosts.albums import album_finding

    finding = album_finding(profile, host)
    if finding is not None:
        verdict, found, advice = finding
        diagnosis.add("album", verdict, found, advice)


def _token(host: Host, diagnosis: Diagnosis) -> bool:
    """token: True unless the host refused or could not be asked."""
    from .hosts.base import CheckableHost

    if not isinstance(host, CheckableHost):
        diagnosis.add(
            "token",
            "note",
            f"the {host.identity.partition(' ')[0]} host offers no check that uploads nothing: "
            "the credentials are first used by an upload",
        )
        return True
    try:
        access = host.check_access()
    except AuthError as error:
        diagnosis.add("token", "fail", f"rejected: {error}", "set the right token or key")
    except RateLimited as error:
        diagnosis.add("token", "fail", f"rate limited: {error}", "try again in a minute")
    except HostUnreachable as error:
        advice = "check the network (and the proxy, if one is set) and 'url'"
        diagnosis.add("token", "fail", f"unreachable: {error}", advice)
    except TransientHostError as error:
        diagnosis.add("token", "fail", f"no answer: {error}", "try again; is the host healthy?")
    except HostError as error:
        if getattr(host, "on_this_machine", False):
            diagnosis.add(
                "token", "fail", f"refused: {error}", "fix the profile as the message says"
            )
            return False
        wrong_url = isinstance(error, WrongEndpoint)
        verdict = "wrong URL" if wrong_url else "refused"
        advice = (
            "set 'url' to the API base the message names"
            if wrong_url
            else "read the host's message"
        )
        diagnosis.add("token", "fail", f"{verdict}: {error}", advice)
    else:
        return diagnosis.add("token", "ok" if access.verified else "note", access.detail)
    return False


def _sync(
    settings: Settings, host_name: str | None, paths: Sequence[Path], diagnosis: Diagnosis
) -> None:
    """What `imgsync --dry-run` would find: offline, the pipeline's own scan."""
    from .pipeline import sync

    if not all(c.verdict != "fail" for c in diagnosis.checks if c.name in ("cache", "host")):
        diagnosis.skip(("sync",), "the cache or the host profile failed above")
        return
    try:
        where = list(paths) or list(settings.project_paths)
        report = sync(where, settings, host_name=host_name, dry_run=True)
    except (ConfigError, CacheError) as error:
        fallback = _fix_config(error) if isinstance(error, ConfigError) else ""
        diagnosis.add("sync", "fail", str(error), advice_for(error, fallback))
        return
    found = report.reused + len(report.would_upload)
    counts = (
        f"{report.files_scanned} Markdown file(s), {found} local image(s): "
        f"{report.reused} already uploaded, {len(report.would_upload)} to upload, "
        f"{len(report.failures)} reference(s) that can't be synced"
    )
    if report.failures:
        diagnosis.add(
            "sync", "fail", counts, "`imgsync check` lists them; fix or remove each reference"
        )
    else:
        diagnosis.add("sync", "ok", counts)
