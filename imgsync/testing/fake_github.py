"""A fake GitHub REST API on loopback: the contents, branches, trees and repository endpoints
of one repository, written from GitHub's documentation, odd parts too.

What it does as GitHub does: `Authorization: Bearer` (or `token`) checked, 401 "Bad
credentials"; a private repository answers 404 to a client without access; the primary
rate limit counted with `x-ratelimit-*` headers on every reply and, once spent, a 403 with
`x-ratelimit-remaining: 0`; a secondary limit (fault "secondary": 403, "429": 429) with
`retry-after`; PUT without `sha` over an existing file is 422 "\\"sha\\" wasn't supplied.",
a wrong `sha` or a moved branch 409; a missing branch 404 "Branch … not found"; GET of a
missing ref 404 "No commit found for the ref …"; a folder lists at most 1,000 entries.
The raw files are served under `{site}/raw/{owner}/{repo}/{branch}/{path}`
(`raw_template` is the matching `public_url`). Over `max_size_kb` a PUT is a 422
`too_large` (GitHub's own reply over 100 MB is not documented: this stands for it).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import unquote

from .command_line import fake_parser, serve
from .fake_github_repo import FakeRepository, blob_sha
from .http import FakeServer, GenericFault, Reply, Request, html_reply, json_reply, not_found

Fault = Literal["primary", "secondary", "429", "500", "502", "html"] | GenericFault
DEFAULT_TOKEN = "ghp_" + "f4k3" * 9
DOCS = "https://docs.github.com/rest"
_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


@dataclass(eq=False, kw_only=True)
class FakeGitHub(FakeServer[Fault]):
    """One repository behind a GitHub REST API at `.url`; public fields are switches."""

    api_path: ClassVar[str] = ""  # api.github.com serves the API at the root

    token: str = field(default=DEFAULT_TOKEN, repr=False)
    owner: str = "writer"
    repo_name: str = "blog-images"
    can_push: bool = True  # False: the token reads only (PUT and DELETE answer 403)
    max_size_kb: float = 100 * 1024
    rate_limit: int | None = 5000  # requests an hour, as GitHub counts a token's
    rate_window: float = 3600.0
    conflicts_next: int = 0  # the next writes find the branch moved: 409
    race_next_put: int = 0  # the next PUTs find the same bytes committed just before: 422
    repo: FakeRepository = field(init=False)
    puts: int = field(default=0, init=False)  # PUTs answered 2xx
    deletes: int = field(default=0, init=False)  # DELETEs answered 200
    _window: tuple[float, int] = field(default=(0.0, 0), init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.repo = FakeRepository(self.owner, self.repo_name)

    @property
    def raw_template(self) -> str:
        """The `public_url` that reads this fake's raw files."""
        return f"{self.site}/raw/{{repo}}/{{branch}}/{{path}}"

    def files(self, branch: str = "main") -> dict[str, bytes]:
        return dict(self.repo.snapshot(branch))

    def commit_by_hand(self, path: str, data: bytes | None, branch: str = "main") -> None:
        """A commit made outside imgsync (the web page, a git push)."""
        self.repo.write(branch, path, data)

    # ---- dispatch -------------------------------------------------------------------

    def respond(self, req: Request) -> Reply:
        if req.path.startswith("/raw/"):
            return self._raw(unquote(req.path.removeprefix("/raw/")))
        if not req.path.startswith(f"{self.api_path}/"):
            return not_found()
        hits = self._count()
        reply = self._api(req, hits)
        if self.rate_limit is not None:
            start = self._window[0]
            # A fault's own rate-limit headers (the "primary" one) stand.
            reply.headers = {
                "x-ratelimit-limit": str(self.rate_limit),
                "x-ratelimit-remaining": str(max(0, self.rate_limit - hits)),
                "x-ratelimit-used": str(min(hits, self.rate_limit)),
                "x-ratelimit-reset": str(
                    math.ceil(time.time() + start + self.rate_window - time.monotonic())
                ),
                "x-ratelimit-resource": "core",
            } | reply.headers
        return reply

    def _count(self) -> int:
        with self._lock:
            start, hits = self._window
            now = time.monotonic()
            self._window = (start, hits + 1) if now - start < self.rate_window else (now, 1)
            return self._window[1]

    def _api(self, req: Request, hits: int) -> Reply:
        fault = self.take_fault()
        if fault is not None:
            return self._fault(fault)
        scheme, _, given = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or given.strip() != self.token:
            if scheme:
                return _error(401, "Bad credentials")
            return _error(404, "Not Found")  # a private repository, to someone without access
        if self.rate_limit is not None and hits > self.rate_limit:
            return _error(403, "API rate limit exceeded for user ID 1.")
        route = unquote(req.path.removeprefix(self.api_path))
        base = f"/repos/{self.repo.full_name}"
        if route == base and req.method == "GET":
            return self._repository()
        if route.startswith(f"{base}/branches/") and req.method == "GET":
            return self._branch(route.removeprefix(f"{base}/branches/"))
        if route.startswith(f"{base}/git/trees/") and req.method == "GET":
            recursive = req.query.get("recursive", [""])[0] not in ("", "0", "false")
            found = self.repo.tree_json(
                self.url, route.removeprefix(f"{base}/git/trees/"), recursive=recursive
            )
            return json_reply(200, found) if found else _error(404, "Not Found")
        if route.startswith(f"{base}/contents"):
            path = route.removeprefix(f"{base}/contents").strip("/")
            if req.method == "GET":
                return self._read(req, path)
            if req.method in ("PUT", "DELETE"):
                return self._change(req, path)
        return _error(404, "Not Found")

    # ---- endpoints ----------------------------------------------------------------------

    def _repository(self) -> Reply:
        push = self.can_push
        return json_reply(
            200,
            {
                "id": 1,
                "name": self.repo.name,
                "full_name": self.repo.full_name,
                "private": True,
                "default_branch": self.repo.default_branch,
                "permissions": {
                    "admin": push,
                    "maintain": push,
                    "push": push,
                    "triage": True,
                    "pull": True,
                },
            },
        )

    def _branch(self, name: str) -> Reply:
        if name not in self.repo.branches:
            return _error(404, "Branch not found")
        tree = self.repo.tree_sha(name, "")
        commit = {"sha": self.repo.heads[name], "commit": {"tree": {"sha": tree}}}
        return json_reply(200, {"name": name, "commit": commit, "protected": False})

    def _read(self, req: Request, path: str) -> Reply:
        ref = req.query.get("ref", [self.repo.default_branch])[0]
        if ref not in self.repo.branches:
            return _error(404, f"No commit found for the ref {ref}")
        accept = req.headers.get("accept", "")
        with self.repo.lock:
            if path in self.repo.branches[ref]:
                size = len(self.repo.branches[ref][path])
                if "object" not in accept and "raw" not in accept and size > 1024 * 1024:
                    return _error(
                        403,
                        "This API returns blobs up to 1 MB in size. The requested blob is too "
                        "large to fetch via the API, but you can use the Git Data API to "
                        "request blobs up to 100 MB in size.",
                        errors=[{"resource": "Blob", "field": "data", "code": "too_large"}],
                    )
                raw = f"{self.site}/raw"
                return json_reply(200, self.repo.file_json(self.url, raw, ref, path, inline=True))
            if self.repo.is_folder(ref, path):
                entries = self.repo.folder_entries(self.url, f"{self.site}/raw", ref, path)
                if "object" in accept:
                    body = {"type": "dir", "path": path, "entries": entries}
                    return json_reply(200, body)
                return Reply(200, json.dumps(entries).encode())
        return _error(404, "Not Found")

    def _change(self, req: Request, path: str) -> Reply:
        try:
            body = json.loads(req.body)
        except ValueError:
            return _error(400, "Problems parsing JSON")
        if not isinstance(body, dict):
            return _error(400, "Problems parsing JSON")
        for name in ("message", "content") if req.method == "PUT" else ("message", "sha"):
            if not isinstance(body.get(name), str):
                return _error(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.')
        branch = body.get("branch", self.repo.default_branch)
        if branch not in self.repo.branches:
            return _error(404, f"Branch {branch} not found")
        if not self.can_push:
            return _error(403, "Resource not accessible by personal access token")
        with self.repo.lock:
            return self._commit(req.method, body, str(branch), path)

    def _commit(self, method: str, body: dict[str, Any], branch: str, path: str) -> Reply:
        files, given = self.repo.branches[branch], body.get("sha")
        data = None
        if method == "PUT":
            try:
                data = base64.b64decode(body["content"], validate=True)
            except (binascii.Error, ValueError):
                return _error(422, "Invalid request.\n\ncontent is not valid Base64.")
            if len(data) > self.max_size_kb * 1024:
                errors = [{"resource": "Blob", "field": "data", "code": "too_large"}]
                return _error(422, "Invalid request.\n\nFile is too large.", errors=errors)
            if self.race_next_put:
                self.race_next_put -= 1
                self.repo.write(branch, path, data)  # someone committed the same just before
        if self.conflicts_next:
            self.conflicts_next -= 1
            self.repo.move_branch(branch)
            return _error(409, f"refs/heads/{branch} expected to be at {self.repo.heads[branch]}")
        exists = path in files
        if method == "DELETE" and not exists:
            return _error(404, "Not Found")
        if exists and given is None:
            return _error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if exists and given != blob_sha(files[path]):
            return _error(409, f"{path} does not match {given}")
        self.repo.write(branch, path, data)
        commit = self.repo.commit_json(self.url, branch, str(body["message"]))
        with self._lock:
            self.puts += method == "PUT"
            self.deletes += method == "DELETE"
        if data is None:
            return json_reply(200, {"content": None, "commit": commit})
        content = self.repo.file_json(self.url, f"{self.site}/raw", branch, path, inline=False)
        return json_reply(200 if exists else 201, {"content": content, "commit": commit})

    def _raw(self, rest: str) -> Reply:
        owner, _, rest = rest.partition("/")
        name, _, rest = rest.partition("/")
        if f"{owner}/{name}" != self.repo.full_name:
            return Reply(404, b"404: Not Found", "text/plain")
        for branch in sorted(self.repo.branches, key=len, reverse=True):
            if rest.startswith(f"{branch}/"):
                data = self.repo.snapshot(branch).get(rest.removeprefix(f"{branch}/"))
                if data is not None:
                    kind = _TYPES.get(rest.rpartition(".")[2].lower(), "application/octet-stream")
                    return Reply(200, data, kind)
        return Reply(404, b"404: Not Found", "text/plain")

    def _fault(self, fault: Fault) -> Reply:
        generic = self.generic_fault(fault)
        if generic is not None:
            return generic
        if fault == "primary":
            reply = _error(403, "API rate limit exceeded for user ID 1.")
            reply.headers |= {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000"}
            reply.headers["x-ratelimit-reset"] = str(int(time.time()) + 60)
            return reply
        if fault in ("secondary", "429"):
            status = 403 if fault == "secondary" else 429
            said = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before "
                "you try again."
            )
            reply = _error(status, said)
            reply.headers["retry-after"] = "30"
            return reply
        if fault == "500":
            return _error(500, "Server Error")
        if fault == "502":
            return html_reply(502, "502 Bad Gateway", "<hr><center>nginx</center>")
        return html_reply(200, "GitHub", "<p>GitHub: where the world builds software.</p>")


def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Reply:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors:
        body["errors"] = errors
    return json_reply(status, body)


@dataclass(eq=False, kw_only=True)
class FakeGitHubEnterprise(FakeGitHub):
    """The same API as GitHub Enterprise Server serves it: under `/api/v3`."""

    api_path: ClassVar[str] = "/api/v3"


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake GitHub until Ctrl-C: `python -m imgsync.testing.fake_github --port 0`."""
    parser = fake_parser("imgsync.testing.fake_github")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the one valid token")
    parser.add_argument("--owner", default="writer")
    parser.add_argument("--repo", default="blog-images", help="the repository's name")
    parser.add_argument("--read-only", action="store_true", help="the token may not push")
    parser.add_argument("--enterprise", action="store_true", help="serve the API at /api/v3")
    parser.add_argument("--rate-limit", type=int, default=5000, help="an hour (0: none)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests failing")
    parser.add_argument("--faults", default="500,502,reset", help="comma list of faults")
    args = parser.parse_args(argv)
    faults = tuple(f for f in args.faults.split(",") if f)
    known = {name for member in get_args(Fault) for name in get_args(member)}
    if unknown := sorted(set(faults) - known):
        parser.error(f"unknown fault(s): {', '.join(unknown)}")
    return serve(
        args,
        FakeGitHubEnterprise if args.enterprise else FakeGitHub,
        token=args.token,
        owner=args.owner,
        repo_name=args.repo,
        can_push=not args.read_only,
        rate_limit=args.rate_limit or None,
        fault_rate=args.fault_rate,
        random_faults=faults,
    )


if __name__ == "__main__":
    raise SystemExit(main())
