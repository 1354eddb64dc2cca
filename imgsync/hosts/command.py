"""Any program as the image host: run once per image, without a shell; its URL printed or templated.

`command` is a list, the program and its arguments, with the placeholders `{path}` (the file
holding the bytes to send), `{md5}` (their MD5), `{ext}` (".png") and `{name}` (the file's
stem, made URL-safe). `url`, if set, is the URL to write, from the same placeholders but
`{path}`; else the last non-empty line the program prints on stdout is the URL.

Trust: the repository writes the config, and this host runs what it names with the
environment's secrets at hand. So it runs only where the environment says so
(IMGSYNC_ALLOW_COMMAND=1), never through a shell, and `${VAR}` is refused in its options:
the program inherits the environment and reads its own credentials there, so no secret is
ever put on a command line, shown in `ps`, or quoted in an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import string
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any, ClassVar, NoReturn

from ..environment import ALLOW_COMMAND_VARIABLE
from ..errors import HostError, TransientHostError, WrongEndpoint
from ..files import private_folder
from ..hosted_url import http_allowed, quoted, url_problem
from .base import Access, HostProfile, UploadRequest, UploadResult
from .content_name import safe_stem, sent_md5
from .kit import KitHost
from .options import ProfileOptions

_OPTIONS = ("command", "timeout", "url")
PLACEHOLDERS = frozenset({"path", "md5", "ext", "name"})
DEFAULT_TIMEOUT = 120  # seconds; an upload of a large image over a slow line fits
OUTPUT_CAP = 64 * 1024  # bytes of stdout and of stderr read back (their ends)
STDERR_LINES = 5  # lines of stderr quoted in an error
STDERR_CHARS = 500
# A variable's value is redacted from quoted output when its name says it is a secret.
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|CREDENTIAL|AUTH")
_VARIABLE = re.compile(r"(?<!\$)\$\{")
_DUMMY = {"md5": "0" * 32, "ext": ".png", "name": "image", "path": "/x/image.png"}


class CommandHost:
    """Runs a program for each image: a copy with rclone, scp, aws s3 cp, a script of yours."""

    type_name: ClassVar[str] = "command"
    # No network of imgsync's own and no credential: `imgsync doctor` tries neither, and
    # its "token" check is this host's check_access.
    on_this_machine: ClassVar[bool] = True

    def __init__(self, profile: HostProfile, http: object = None) -> None:
        options = ProfileOptions(profile, _OPTIONS)
        env = profile.trusted.variables
        self.argv = _command(options)
        self.url_template = _url_template(options, allow_http=profile.trusted.allow_http)
        self.timeout = options.whole("timeout", low=1, high=3600, default=DEFAULT_TIMEOUT)
        if env.get(ALLOW_COMMAND_VARIABLE, "").strip() != "1":
            options.bad(
                f"a command host runs the program its config names, so only the environment "
                f"can allow it: set {ALLOW_COMMAND_VARIABLE}=1 where you trust this "
                "repository's config (never in a CI job that runs on others' pull requests)"
            )
        # Absolute, so that {path} never reads as an option, whatever the file's name.
        source = profile.source if profile.source is not None else Path("imgsync.toml")
        self.project = source.absolute().parent
        self.allow_http = profile.trusted.allow_http
        self._secrets = sorted(
            (v for k, v in env.items() if _SECRET_NAME.search(k.upper()) and len(v) >= 6),
            key=len,
            reverse=True,
        )
        self.runs = 0  # programs started, for reports and tests

    def __repr__(self) -> str:
        return f"CommandHost({self.argv[0]!r}, url={self.url_template!r})"

    @property
    def identity(self) -> str:
        """ "command" and where the images end up: the URL template, else the command line
        (no secret: `${VAR}` is refused in both)."""
        return f"{self.type_name} {self.url_template or _joined(self.argv)}"

    @property
    def max_size(self) -> int | None:
        return None

    def upload(self, request: UploadRequest) -> UploadResult:
        md5 = sent_md5(request)  # ImageError for an unreadable file: nothing is run
        fields = {"md5": md5, "ext": Path(request.filename).suffix.lower()}
        fields["name"] = safe_stem(request.filename)
        with self._file_to_send(request) as path:
            fields["path"] = str(path)
            stdout = self._run([arg.format(**fields) for arg in self.argv])
        if self.url_template is not None:
            return UploadResult(self.url_template.format(**fields))
        return UploadResult(self._printed_url(stdout))

    def check_access(self) -> Access:
        """The program is found; a command can't be tried without uploading."""
        where = shutil.which(self.argv[0])
        if where is None:
            self._missing()
        return Access(
            False, f"{self.argv[0]} is at {where}; a command can't be tried without uploading"
        )

    # ---- running ------------------------------------------------------------------------

    def _file_to_send(self, request: UploadRequest) -> _Sending:
        return _Sending(request, self.project)

    def _run(self, argv: list[str]) -> str:
        """Run `argv` (no shell, stdin closed, its own process group); its stdout's end.
        HostError for a non-zero exit, TransientHostError when it outlives the timeout."""
        program = self.argv[0]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=self.project,
                    start_new_session=True,  # its own process group: a timeout stops it all
                )
            except FileNotFoundError:
                self._missing()
            except OSError as error:
                self._fail(WrongEndpoint, f"{program} could not be started: {error.strerror}")
            self.runs += 1
            try:
                status = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _stop_group(process)
                self._fail(
                    TransientHostError,
                    f"{program} did not finish within {self.timeout} s ('timeout'): it was stopped",
                )
            except BaseException:  # Ctrl-C: the program goes with us
                _stop_group(process)
                raise
            said = _last_lines(self._redact(_tail(err)))
            if status != 0:
                how = f"exit status {status}" if status > 0 else f"killed by signal {-status}"
                self._fail(HostError, f"{program} failed ({how})", said or "(nothing on stderr)")
            return self._redact(_tail(out))

    def _printed_url(self, stdout: str) -> str:
        lines = [line.strip() for line in stdout.splitlines() if line.strip()]
        program = self.argv[0]
        if not lines:
            self._fail(
                HostError,
                f"{program} printed nothing on stdout, where its last line should be the URL "
                "(or set 'url', a template of it)",
            )
        url = lines[-1]
        http = self.allow_http or http_allowed(url)
        if url_problem(url, allow_http=http) is not None:
            self._fail(
                HostError,
                f"{program} printed no URL: its last line on stdout was {quoted(url)}, where an "
                "https:// URL should be (or set 'url', a template of it)",
            )
        return url

    def _missing(self) -> NoReturn:
        self._fail(
            WrongEndpoint,
            f"the program {self.argv[0]!r} ('command') was not found: install it, or put it "
            "on PATH (or give its path)",
        )

    def _fail(self, cls: type[HostError], message: str, said: str | None = None) -> NoReturn:
        raise cls(self._redact(message), host=self.identity, host_message=said)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class _Sending:
    """The path of the bytes to send: the image itself, or (stripped or processed) a copy
    under the project's `.imgsync/send/`, named as it is sent, removed afterwards."""

    def __init__(self, request: UploadRequest, project: Path) -> None:
        self.request, self.project = request, project
        self.folder: str | None = None

    def __enter__(self) -> Path:
        if self.request.plan is None:
            return self.request.path
        home = private_folder(self.project / ".imgsync", project=self.project) / "send"
        home.mkdir(exist_ok=True)
        self.folder = tempfile.mkdtemp(dir=home)
        path = Path(self.folder) / self.request.filename
        with KitHost.open(self.request) as stream, path.open("wb") as copy:
            shutil.copyfileobj(stream, copy)
        return path

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _stop_group(process: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(file: IO[bytes]) -> str:
    """The last OUTPUT_CAP bytes written to `file`, as text."""
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - OUTPUT_CAP))
    return file.read().decode("utf-8", "replace")


def _last_lines(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    said = " | ".join(lines[-STDERR_LINES:])
    return said if len(said) <= STDERR_CHARS else "…" + said[-STDERR_CHARS:]


def _joined(argv: list[str]) -> str:
    return " ".join(arg if arg and " " not in arg else repr(arg) for arg in argv)


def _command(options: ProfileOptions) -> list[str]:
    value = options.profile.options.get("command")
    if isinstance(value, str):
        options.bad(
            "'command' must be a list, the program and its arguments, such as "
            '["rclone", "copyto", "{path}", "r2:blog/{md5}{ext}"]: no shell is ever used, '
            "so a string would have to be split by rules of imgsync's own"
        )
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        options.bad("'command' is required: a list of strings, the program and its arguments")
    if any(_VARIABLE.search(arg) for arg in value):
        options.bad(
            "'command' names a ${VARIABLE}: the program inherits the environment, so let it "
            "read the variable itself (rclone, aws and scp do); no secret goes on a command line"
        )
    argv: list[str] = options.raw("command")
    if not argv[0].strip() or _fields(argv[0], options, "command"):
        options.bad("'command' must begin with the program, as a plain name or path")
    used = set().union(*(_fields(arg, options, "command") for arg in argv[1:]))
    if "path" not in used:
        options.bad("'command' must hand the image to the program: put {path} among its arguments")
    return argv


def _url_template(options: ProfileOptions, *, allow_http: bool) -> str | None:
    if "url" not in options:
        return None
    value = options.text(
        "url", message="'url' must be a URL template such as \"https://img.example.com/{md5}{ext}\""
    )
    fields = _fields(value, options, "url")
    if "path" in fields:
        options.bad("'url' can't hold {path}, a file on this machine: use {md5}, {ext}, {name}")
    if "md5" not in fields:
        options.bad("'url' must contain {md5}, so that each image gets its own URL")
    example = value.format(**_DUMMY)
    problem = url_problem(example, allow_http=allow_http or http_allowed(example))
    if problem is not None:
        options.bad(f"'url' must make an https:// URL, but {problem}")
    return value


def _fields(text: str, options: ProfileOptions, key: str) -> set[str]:
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as error:
        options.bad(f"{key!r} is not a valid template ({error}): write placeholders as {{path}}")
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        known = "{path}, {md5}, {ext}, {name}"
        options.bad(f"{key!r} has unknown placeholder(s) {unknown}; known: {known}")
    try:
        text.format(**_DUMMY)
    except (ValueError, IndexError) as error:
        options.bad(f"{key!r} is not a valid template ({error})")
    return names
