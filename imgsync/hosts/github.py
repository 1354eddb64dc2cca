"""A GitHub repository as the image host: each image a file committed through the contents API.

Files are content-addressed (content_name.py): the name holds the MD5 of the bytes sent,
so an upload first reads the path (GET) and commits (PUT) only when nothing is there; a
file found there is checked to be the same bytes by its git blob SHA, which imgsync
computes locally. A 422 "sha wasn't supplied" (someone committed the same name between
our GET and PUT) and a 409 (the branch moved) are read again and judged, not failed.
Commits are sent one at a time, a second apart, as GitHub asks of content-creating
requests; reads go in parallel. The base64 body is streamed from the file, never held.
docs/github.md tells the options, the limits and what list, prune and delete do.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from ..errors import AuthError, HostError, Interrupted, RateLimited, TransientHostError
from ..sizes import human_size
from ..stop_signal import stopped
from ._pacing import RateBudget
from .base import Access, HostedImage, HostProfile, UploadRequest, UploadResult
from .bounded import MAX_REPLY, request_bounded, send_bounded
from .github_listing import files_in_folder
from .github_options import OPTIONS, GitHubSettings, read_settings
from .github_replies import body_of, check_rate_limits, judge, said_in
from .github_sent import Sent, base64_chunks, base64_length, measure
from .kit import KitHost
from .options import ProfileOptions

MAX_FILE = 100 * 1024 * 1024  # the contents API's limit on one file
API_VERSION = "2022-11-28"
FILE_READ_LIMIT = 4 * 1024 * 1024  # a file's JSON holds its base64 content up to 1 MB
TREE_READ_LIMIT = 16 * 1024 * 1024  # a recursive tree is at most 7 MB, says GitHub
CONFLICT_TRIES = 4  # PUT or DELETE answered 409 (the branch moved): read again, send again


@dataclass(frozen=True)
class Found:
    """A file in the repository, as a read of its path showed it."""

    sha: str
    size: int | None


class GitHubHost(KitHost):
    """Commits images into a folder of a GitHub (or GitHub Enterprise) repository."""

    type_name: ClassVar[str] = "github"
    write_interval: float = 1.0  # seconds between commits (GitHub's advice); tests set 0

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        options = ProfileOptions(profile, OPTIONS)
        self.settings: GitHubSettings = read_settings(options)
        super().__init__(self.settings.api, self.settings.token, http, origins=options.origins)
        self._budget = RateBudget("GitHub's rate limit", self.errors)
        self._write_lock = threading.Lock()
        self._next_write = 0.0
        self.requests_made = 0  # every API request sent, for reports and tests
        self._repo_seen = False  # whether GET /repos/{repo} answered (before deleting)
        self._hold_lock = threading.Lock()
        self._hold_until = 0.0  # monotonic time before which GitHub asked for no request

    @property
    def identity(self) -> str:
        return _identity(self.settings)

    @classmethod
    def identity_of(cls, profile: HostProfile) -> str:
        """The identity from the options alone, without the token (a fork's pull request, a
        `verify` without it): its uploads are still found in the cache."""
        return _identity(read_settings(ProfileOptions(profile, OPTIONS), with_token=False))

    @property
    def max_size(self) -> int | None:
        return MAX_FILE

    @property
    def public_prefixes(self) -> tuple[str, ...]:
        """Where the written URLs point (raw.githubusercontent.com, a CDN): the host's own
        images, though not on its API's site (ServingHost)."""
        return (self.settings.url_for(self.settings.path_for("")),)

    # ---- upload ---------------------------------------------------------------------

    def upload(self, request: UploadRequest) -> UploadResult:
        sent = measure(lambda: self.open(request), request.size)
        if sent.size > MAX_FILE:
            self.errors.fail(
                HostError,
                f"the file is {human_size(sent.size)}, above the {human_size(MAX_FILE)} GitHub's "
                "contents API takes: shrink it or upload it to another host",
                None,
            )
        path = self.settings.path_for(self.settings.names.name_for(sent.md5, request.filename))
        found = self._stat(path)
        if found is None:
            self._commit(request, path, sent)
        else:
            self._same_bytes(found, sent, path)
        return UploadResult(url=self.settings.url_for(path), handle={"path": path})

    def _same_bytes(self, found: Found, sent: Sent, path: str) -> None:
        """A file already at the content-addressed path must be these very bytes."""
        if found.sha != sent.blob_sha:
            self.errors.fail(
                HostError,
                f"{path} already exists in {self.settings.repo} with other content (blob "
                f"{found.sha[:12]}, not {sent.blob_sha[:12]}): it was changed by hand; delete "
                "it in the repository, then run again",
                None,
            )

    def _commit(self, request: UploadRequest, path: str, sent: Sent) -> None:
        """PUT the file; a 422 or 409 is judged by reading the path again."""
        for attempt in range(CONFLICT_TRIES):
            message = self.settings.message.format(path=path)
            head = json.dumps({"message": message, "branch": self.settings.branch})
            response = self._write(
                "PUT", path, head, lambda: base64_chunks(self.open(request), sent.size), sent.size
            )
            code = response.status_code
            body = body_of(response)
            if code in (200, 201):
                content = judge(self.errors, response, **self._where()).get("content")
                stored = content.get("sha") if isinstance(content, Mapping) else None
                if isinstance(stored, str):  # what GitHub stored is what was measured
                    self._same_bytes(Found(stored, None), sent, path)
                return
            said = said_in(body)
            check_rate_limits(self.errors, response, said)
            if code in (409, 422) and isinstance(body, Mapping) and _is_race(code, said):
                found = self._stat(path)  # committed meanwhile by someone, or the branch moved
                if found is not None:
                    self._same_bytes(found, sent, path)
                    return
                self._pause(min(2.0**attempt, 8.0) * self.write_interval)
                continue
            judge(self.errors, response, **self._where())
        self.errors.fail(
            TransientHostError,
            f"GitHub answered 409 Conflict {CONFLICT_TRIES} times: the branch "
            f"{self.settings.branch!r} kept moving (another push at the same time?)",
            409,
        )

    # ---- delete, list ------------------------------------------------------------------

    def delete(self, handle: Mapping[str, str]) -> None:
        """DELETE the file with its blob SHA read afresh (never a stored one); a file gone
        already is no error. Only a file of this profile's folder and name template."""
        path = handle.get("path")
        if not self.settings.is_ours(path):
            raise ValueError(
                "a github image is deleted by the 'path' its upload gave, and only a path in "
                "the profile's folder that its name template makes; this handle has no such path"
            )
        assert isinstance(path, str)
        if not self._repo_seen:  # a 404 below must mean "gone", not "no access to the repo"
            self._get(f"/repos/{self.settings.repo}")
            self._repo_seen = True
        for attempt in range(CONFLICT_TRIES):
            found = self._stat(path)
            if found is None:
                return
            fields = {"message": f"imgsync: delete {path}", "sha": found.sha}
            head = json.dumps(fields | {"branch": self.settings.branch})
            response = self._write("DELETE", path, head, None)
            code, said = response.status_code, said_in(body_of(response))
            if code == 404 and said and "branch" not in said.lower():
                return  # deleted by someone else since it was read
            if code == 200:
                judge(self.errors, response, **self._where())
                return
            check_rate_limits(self.errors, response, said)
            if code == 409:
                self._pause(min(2.0**attempt, 8.0) * self.write_interval)
                continue
            judge(self.errors, response, **self._where())
        self.errors.fail(
            TransientHostError,
            f"GitHub answered 409 Conflict {CONFLICT_TRIES} times deleting {path}",
            409,
        )

    def list_images(
        self, progress: Callable[[int, int | None], None] | None = None
    ) -> Iterator[HostedImage]:
        """The folder's files that this profile's name template could have made, from one
        git tree (a snapshot: nothing skipped or listed twice, whatever others commit
        meanwhile). The contents API has no dates: uploaded_at is left unknown (prune goes
        by the times the cache recorded)."""
        found: list[HostedImage] = []
        for path, size in files_in_folder(self._get, self.settings, self.errors):
            if self.settings.is_ours(path):
                url = self.settings.url_for(path)
                name = path.rpartition("/")[2]
                found.append(HostedImage(url=url, handle={"path": path}, size=size, name=name))
        if progress is not None:
            progress(len(found), len(found))
        yield from found

    # ---- check --------------------------------------------------------------------------

    def check_access(self) -> Access:
        """GET /repos/{repo}: the token is accepted and `permissions.push` says whether it
        may commit; then GET the branch. Nothing is written."""
        s = self.settings
        repo = self._get(f"/repos/{s.repo}")
        permissions = repo.get("permissions")
        push = permissions.get("push") if isinstance(permissions, Mapping) else None
        if push is False:
            self.errors.fail(
                AuthError,
                f"the token can read {s.repo} but may not write to it (permissions.push is "
                "false): give it \"Contents: read and write\" (fine-grained) or the 'repo' scope",
                200,
            )
        self._get(f"/repos/{s.repo}/branches/{quote(s.branch, safe='/')}")
        if push is None:
            return Access(
                False,
                f"{s.repo} and its branch {s.branch!r} answer, but GitHub did not say whether "
                "the token may write: the first upload will tell",
            )
        return Access(
            True,
            f"GitHub accepted the token: {s.repo} is writable (permissions.push) and its branch "
            f"{s.branch!r} exists (a fine-grained token's own permissions show only at the "
            "first upload)",
        )

    # ---- requests -----------------------------------------------------------------------

    def _headers(self, accept: str = "application/vnd.github+json") -> dict[str, str]:
        return {
            "Accept": accept,
            "Authorization": f"Bearer {self.settings.token}",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def _where(self) -> dict[str, str]:
        return {"repo": self.settings.repo, "branch": self.settings.branch}

    def _contents(self, path: str) -> str:
        return f"{self.url}/repos/{self.settings.repo}/contents/{quote(path, safe='/')}"

    def _stat(self, path: str) -> Found | None:
        """The file at `path` on the branch, or None: the object media type, so a file over
        1 MB answers too (its content left out)."""
        ref = quote(self.settings.branch, safe="")
        response = self._send(
            lambda: request_bounded(
                self._http,
                "GET",
                f"{self._contents(path)}?ref={ref}",
                headers=self._headers("application/vnd.github.object+json"),
                host=self.identity,
                limit=FILE_READ_LIMIT,
            )
        )
        body = body_of(response)
        said = said_in(body)
        if response.status_code == 404 and isinstance(body, Mapping):
            words = (said or "").lower()
            if "no commit found" in words or "branch" in words:
                judge(self.errors, response, **self._where())  # the branch is missing
            return None  # "Not Found" (or "This repository is empty."): not there yet
        body = judge(self.errors, response, **self._where())
        sha, size = body.get("sha"), body.get("size")
        if body.get("type") != "file" or not isinstance(sha, str):
            self.errors.fail(
                HostError,
                f"{path} exists in {self.settings.repo} but is not a file (a folder?): choose "
                "another 'name' template or 'path'",
                200,
            )
        return Found(sha, size if type(size) is int else None)

    def _get(self, path: str) -> dict[str, Any]:
        response = self._send(
            lambda: request_bounded(
                self._http,
                "GET",
                f"{self.url}{path}",
                headers=self._headers(),
                host=self.identity,
                limit=TREE_READ_LIMIT if "/git/trees/" in path else MAX_REPLY,
            )
        )
        return judge(self.errors, response, **self._where())

    def _write(
        self,
        method: str,
        path: str,
        head: str,
        content: Callable[[], Iterator[bytes]] | None,
        size: int | None = None,
    ) -> httpx.Response:
        """PUT or DELETE a JSON body: `head` (an object) with `content` (base64 pieces, made
        afresh for each try) streamed in as its "content". One at a time, spaced out."""

        opening = head.encode() if content is None else head[:-1].encode() + b', "content": "'

        def body() -> Iterator[bytes]:
            yield opening
            if content is not None:
                yield from content()
                yield b'"}'

        # A length told up front: the body is not sent in chunks, which not every proxy takes.
        length = len(opening) + (0 if size is None else base64_length(size) + 2)
        headers = self._headers() | {"Content-Type": "application/json"}
        headers["Content-Length"] = str(length)
        with self._write_lock:
            self._pause(self._next_write - time.monotonic())
            request = self._http.build_request(
                method, self._contents(path), headers=headers, content=body()
            )
            try:
                return self._send(lambda: send_bounded(self._http, request, host=self.identity))
            finally:
                self._next_write = time.monotonic() + self.write_interval

    def _send(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        """One request within the rate budget; timeouts and lost connections become
        TransientHostError or HostUnreachable. After a rate limit, nothing is sent until
        the wait GitHub asked for is over (its headers alone tell the primary limit's end,
        not a secondary limit's): every request meanwhile is RateLimited unsent, so a
        prune's deletes or a listing never keep knocking."""
        with self._hold_lock:
            left = self._hold_until - time.monotonic()
        if left > 0:
            self.errors.rate_limited(
                "GitHub asked us to wait before sending more", left, None, None
            )
        self._budget.reserve(1)
        self.requests_made += 1
        try:
            with self.errors.transport(self.url):
                response = send()
        except BaseException:
            self._budget.settle(1, None)
            raise
        self._budget.settle(1, response)
        try:
            check_rate_limits(self.errors, response, said_in(body_of(response)))
        except RateLimited as limited:
            with self._hold_lock:
                wait = limited.retry_after if limited.retry_after is not None else 60.0
                self._hold_until = max(self._hold_until, time.monotonic() + wait)
            raise
        return response

    def _pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if stopped():
                raise Interrupted
            time.sleep(min(left, 0.5))


def _is_race(code: int, said: str | None) -> bool:
    """A 409 (the branch moved, or a stale SHA), or the 422 of a file that is there already."""
    return code == 409 or (code == 422 and '"sha"' in (said or ""))


def _identity(s: GitHubSettings) -> str:
    """The API URL of the folder on its branch: another repository, branch or folder is
    another place, whose files the cache must not take for these."""
    folder = quote(s.folder, safe="/")
    return f"github {s.api}/repos/{s.repo}/contents/{folder}?ref={quote(s.branch, safe='/')}"
