"""Upload through a running PicGo or PicList: their local server's /upload (picgo_protocol.py),
reaching every picbed their plugins reach, with imgsync's dedup and exact rewrite.

mode "path" (default) sends the paths of copies the server reads (picgo_staging.py); mode
"form" sends the bytes. One request at a time: the servers keep a request's files in one
temp folder that PicList empties after each, and PicList switches its picbed for a request
globally. docs/picgo.md has the facts each choice rests on.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, ClassVar, NoReturn
from urllib.parse import urlencode, urlsplit

import httpx

from ..errors import AuthError, HostError, HostUnreachable, ImageError, WrongEndpoint
from ..hosted_url import http_allowed, quoted
from ..picgo_protocol import (
    CONFIG_PARAMETER,
    DEFAULT_CONFIG,
    DEFAULT_URL,
    FORM_FIELD,
    HEARTBEAT_PATH,
    KEY_PARAMETER,
    PICBED_PARAMETER,
    PICLIST_BAD_KEY,
    UPLOAD_PATH,
    UploadReply,
    is_alive,
    read_upload_reply,
    upload_body,
)
from ._http import json_object
from .base import Access, HostProfile, UploadRequest, UploadResult
from .bounded import post_bounded, request_bounded
from .kit import KitHost, ReplyRules, text
from .options import ProfileOptions
from .picgo_staging import remove_stale, staged_copies, unique_names

_OPTIONS = ("batch_size", "config_name", "key", "mode", "picbed", "url")
MAX_BATCH = 20
_PICBED_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_UNREACHABLE = (
    "is PicGo or PicList running, with its server enabled (Settings > PicGo Server; PicList: "
    "Settings > Server)?"
)
_KEY_ADVICE = (
    "set 'key' to the server's key (PicList: Settings > Server > key; PicGo 3: the server's secret)"
)
_REPLIES = ReplyRules(
    api="PicGo server",
    base=DEFAULT_URL,
    redirect=(
        WrongEndpoint,
        "the server redirected the upload to {where}: 'url' should be the PicGo server "
        f"itself, e.g. {DEFAULT_URL}",
    ),
    speaker="the PicGo server",
    statuses={
        401: (AuthError, f"the PicGo server refused the request as unauthorized: {_KEY_ADVICE}"),
        404: (
            WrongEndpoint,
            "the server answered 404 to POST /upload: 'url' should be the server's base, "
            f"e.g. {DEFAULT_URL} (without /upload)",
        ),
        413: (HostError, "the server refused the request as too large (HTTP 413)"),
    },
)
Outcome = UploadResult | HostError


class PicGoHost(KitHost):
    """Uploads through the server of a running PicGo, PicGo-Core 3 or PicList; a BatchHost
    (batch_size, 1 by default) and a StagingHost (path mode's copies under .imgsync/)."""

    type_name: ClassVar[str] = "picgo"
    secret_option: ClassVar[str] = "key"

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        options = ProfileOptions(profile, _OPTIONS)
        url = options.url(default=DEFAULT_URL, no_query="the key goes in 'key'")
        self._key = options.optional_secret(
            "key", what="a server key", if_empty="remove it when the server has no key"
        )
        self._mode = options.choice("mode", ("path", "form")) if "mode" in options else "path"
        self._batch_size = options.whole("batch_size", low=1, high=MAX_BATCH, default=1) or 1
        self._picbed, self._config = _read_selection(options)
        self._allow_http = profile.trusted.allow_http
        self._staging: Path | None = None
        self._one_at_a_time = threading.Lock()
        # The key travels in the query too, where it is percent-encoded: redact that form as well.
        encoded = urlencode({KEY_PARAMETER: self._key}).partition("=")[2] if self._key else None
        super().__init__(url, self._key, http, also_secret=(encoded,), origins=options.origins)

    @property
    def identity(self) -> str:
        """The cache's name for the host: "picgo <url>", and PicList's picbed and configuration
        when the profile chooses them, so that two picbeds behind one server are two hosts."""
        return f"picgo {self.url}{self._selection()}"

    def _selection(self) -> str:
        if self._picbed is None:
            return ""
        return "?" + urlencode({PICBED_PARAMETER: self._picbed, CONFIG_PARAMETER: self._config})

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def stage_in(self, folder: Path) -> None:
        self._staging = folder
        remove_stale(folder)

    def upload(self, request: UploadRequest) -> UploadResult:
        [outcome] = self._upload_group([request], unreadable_raises=True)
        if isinstance(outcome, HostError):
            raise outcome
        return outcome

    def upload_batch(self, requests: Sequence[UploadRequest]) -> list[Outcome]:
        return self._upload_group(list(requests), unreadable_raises=False)

    def check_access(self) -> Access:
        """POST /heartbeat, which both servers answer "alive" without a key: the server is
        there, but the key can't be tested without uploading."""
        response = self._post(HEARTBEAT_PATH, content=b"")
        body = json_object(response)
        _REPLIES.check_status(self.errors, response, text(body.get("message")) if body else None)
        if not is_alive(body):
            _REPLIES.not_the_api(self.errors, response, None)
        key = (
            "the key can't be tested without uploading (the heartbeat takes none)"
            if self._key
            else "no key is set"
        )
        return Access(False, f"the PicGo server answers (POST /heartbeat: alive); {key}")

    # ---- one request ------------------------------------------------------------------

    def _upload_group(
        self, requests: list[UploadRequest], *, unreadable_raises: bool
    ) -> list[Outcome]:
        """One outcome per request: the unreadable ones fail alone, the rest go in one request."""
        with self._one_at_a_time:
            if self._mode == "form":
                return self._send_form(requests, unreadable_raises)
            with staged_copies(requests, self._staging) as copies:
                sendable = [c for c in copies if isinstance(c, Path)]
                if unreadable_raises and len(sendable) < len(copies):
                    raise next(c for c in copies if isinstance(c, ImageError))
                results = self._send_paths(sendable) if sendable else []
            return self._merge(copies, results)

    def _send_paths(self, copies: list[Path]) -> list[UploadResult]:
        body = json.dumps(upload_body([str(path.resolve()) for path in copies])).encode()
        response = self._post(UPLOAD_PATH + self._query(), content=body)
        return self._results(response, len(copies))

    def _send_form(self, requests: list[UploadRequest], unreadable_raises: bool) -> list[Outcome]:
        with ExitStack() as stack:
            opened: list[IO[bytes] | ImageError] = []
            for request in requests:
                try:
                    opened.append(stack.enter_context(KitHost.open(request)))
                except ImageError as error:
                    if unreadable_raises:
                        raise
                    opened.append(error)
            names = unique_names(requests)
            files = [
                (FORM_FIELD, (name, stream, request.mime))
                for request, name, stream in zip(requests, names, opened, strict=True)
                if not isinstance(stream, ImageError)
            ]
            if not files:
                return self._merge(opened, [])
            response = self._post(UPLOAD_PATH + self._query(), files=files)
            return self._merge(opened, self._results(response, len(files)))

    def _merge(self, items: Sequence[object], results: list[UploadResult]) -> list[Outcome]:
        """The results in the order of the items sent; an unreadable item's HostError."""
        sent = iter(results)
        return [
            HostError(f"could not be read while uploading: {item}", host=self.identity)
            if isinstance(item, ImageError)
            else next(sent)
            for item in items
        ]

    def _query(self) -> str:
        pairs = [(KEY_PARAMETER, self._key)] if self._key else []
        if self._picbed is not None:
            pairs += [(PICBED_PARAMETER, self._picbed), (CONFIG_PARAMETER, self._config)]
        return "?" + urlencode(pairs) if pairs else ""

    def _post(
        self, path: str, *, content: bytes | None = None, files: Any = None
    ) -> httpx.Response:
        """POST to the server once; HostUnreachable says to start PicGo."""
        url = f"{self.url}{path}"
        headers = {"Accept": "application/json"}
        if self._key:  # PicGo-Core 3 reads the header; PicList the query's key
            headers["Authorization"] = f"Bearer {self._key}"
        try:
            with self.errors.transport(self.url):
                if files is not None:
                    return post_bounded(
                        self._http, url, headers=headers, data={}, files=files, host=self.identity
                    )
                headers["Content-Type"] = "application/json"
                return request_bounded(
                    self._http, "POST", url, headers=headers, content=content, host=self.identity
                )
        except HostUnreachable as error:
            raise error.with_note(_UNREACHABLE) from None

    # ---- its reply --------------------------------------------------------------------

    def _results(self, response: httpx.Response, count: int) -> list[UploadResult]:
        code = response.status_code
        body = json_object(response)
        said = text(body.get("message")) if body else None
        _REPLIES.check_status(self.errors, response, said)
        reply = read_upload_reply(body)
        if reply is None:
            _REPLIES.not_the_api(self.errors, response, said)
        if not reply.success:
            if said is not None and PICLIST_BAD_KEY in said:
                wanted = "the key is wrong" if self._key else "the server wants a key"
                self.errors.fail(
                    AuthError, f"PicList refused the upload: {wanted}; {_KEY_ADVICE}", code, said
                )
            self.errors.fail(
                HostError,
                "the PicGo server could not upload: its uploader (the picbed) failed; its log "
                "says why",
                code,
                said,
            )
        if len(reply.urls) != count:
            self._fail_count(len(reply.urls), count, code)
        self._check_picbed(reply, code)
        return [UploadResult(url=self._checked_url(url, code)) for url in reply.urls]

    def _fail_count(self, got: int, count: int, code: int) -> NoReturn:
        if count == 1 and got == 0:
            self.errors.fail(
                HostError,
                "the PicGo server reported success but gave no URL: its uploader (the picbed) "
                "failed, which PicGo-Core reports so; its log says why",
                code,
            )
        self.errors.fail(
            HostError,
            f"the PicGo server gave {got} URL(s) for the {count} files sent: it leaves out the "
            "files that failed without saying which, so no URL can be matched to its file; "
            "those that went up are on the picbed but not recorded (its log says which failed; "
            "batch_size = 1 avoids this)",
            code,
        )

    def _check_picbed(self, reply: UploadReply, code: int) -> None:
        """With 'picbed' set, PicList must have used it: it falls back to its current picbed,
        unsaid, when it has no configuration of that name; PicGo ignores the parameter."""
        if self._picbed is None:
            return
        if reply.full is None:
            self.errors.fail(
                WrongEndpoint,
                "'picbed' is set, but the server is not PicList (its reply has no fullResult): "
                "only PicList chooses the picbed per request; PicGo uploads to the picbed its "
                "window has selected, and did so now: remove 'picbed' and 'config_name', or "
                "run PicList",
                code,
            )
        used = sorted({str(item.get("type")) for item in reply.full} - {self._picbed})
        if used:
            self.errors.fail(
                WrongEndpoint,
                f"PicList uploaded to the picbed {used[0]!r}, not to 'picbed' {self._picbed!r}: "
                f"it uses its current picbed when it has no configuration named "
                f"{self._config!r} for {self._picbed!r}; check 'picbed' and 'config_name'",
                code,
            )

    def _checked_url(self, url: str, code: int) -> str:
        """`url`, unless it is empty or plain http off this machine: the server is on
        loopback, but the picbed behind it is not."""
        parts = urlsplit(url)
        if not url or not parts.netloc:
            self.errors.fail(
                HostError, f"the PicGo server gave an unusable URL {quoted(url)}", code
            )
        if parts.scheme.lower() == "http" and not self._allow_http and not http_allowed(url):
            self.errors.fail(
                HostError,
                f"the picbed PicGo uploaded to gave an http:// URL {quoted(url)}: a link must be "
                "https:// so that no one on the way can change the image; give the picbed an "
                "https:// custom domain",
                code,
            )
        return url


def _read_selection(options: ProfileOptions) -> tuple[str | None, str]:
    """PicList's picbed and configuration name for every upload; (None, "") for its current."""
    if "picbed" not in options:
        if "config_name" in options:
            options.bad("'config_name' needs 'picbed' (PicList's picbed id, e.g. \"aws-s3\")")
        return None, ""
    picbed = options.text("picbed")
    if not _PICBED_RE.fullmatch(picbed):
        options.bad('\'picbed\' must be PicList\'s id of a picbed, e.g. "aws-s3" or "github"')
    config = options.text("config_name") if "config_name" in options else DEFAULT_CONFIG
    return picbed, config
