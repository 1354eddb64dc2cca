"""A github host profile read and checked: the repository, branch and folder the files go to,
the names they get, and the URL written for them.

Every check happens when the profile is read, so a typo is a ConfigError naming the file
and the key before anything is sent. The URL written is a template (or one of the words
"raw" and "jsdelivr"), filled with `{repo}` ("owner/name"), `{branch}` and `{path}` (the
file's path in the repository, folder included), each percent-encoded for a URL path.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from urllib.parse import quote

from ..hosted_url import http_allowed, url_problem
from .content_name import NameTemplate
from .options import ProfileOptions

OPTIONS = ("branch", "message", "name", "path", "public_url", "repo", "token", "url")
DEFAULT_API = "https://api.github.com"
DEFAULT_BRANCH = "main"
PUBLIC_URL_PRESETS = {
    "raw": "https://raw.githubusercontent.com/{repo}/{branch}/{path}",
    "jsdelivr": "https://cdn.jsdelivr.net/gh/{repo}@{branch}/{path}",
}
URL_PLACEHOLDERS = frozenset({"repo", "branch", "path"})
DEFAULT_MESSAGE = "imgsync: add {path}"
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,200}")
# A folder's parts: printable, and nothing a URL path or a shell reads specially.
_FOLDER_PART = re.compile(r"[^\s\\?#%\"<>|*:~^\[\]{}]+")
# What each placeholder of a name template becomes (content_name.py fills them in).
_NAME_PARTS = {
    "md5": "[0-9a-f]{1,32}",
    "ext": r"(?:\.[a-z0-9]{1,16})?",
    "name": "[A-Za-z0-9._-]{1,200}",
}


@dataclass(frozen=True)
class GitHubSettings:
    """Where a github host puts files, what it calls them, and the URL it writes."""

    api: str  # the API base, without a final slash
    token: str
    repo: str  # "owner/name"
    branch: str
    folder: str  # "" for the repository's root, else "images" (no slash at either end)
    names: NameTemplate
    public_url: str  # a checked template with {path}
    message: str  # the commit message of an upload, with {path}

    def path_for(self, name: str) -> str:
        """The path in the repository of a file named `name` (the template's output)."""
        return f"{self.folder}/{name}" if self.folder else name

    def url_for(self, path: str) -> str:
        """The public URL of the file at `path` in the repository."""
        return self.public_url.format(
            repo=self.repo, branch=quote(self.branch, safe="/"), path=quote(path, safe="/")
        )

    def is_ours(self, path: object) -> bool:
        """Whether `path` is a file this profile could have made: in its folder, named by its
        template. A handle comes from the committed cache, which a pull request writes: a
        delete may only ever touch such a file, never any other file of the repository."""
        return isinstance(path, str) and self._pattern.fullmatch(path) is not None

    @property
    def _pattern(self) -> re.Pattern[str]:
        parts = []
        for literal, field, _, _ in string.Formatter().parse(self.names.text):
            parts.append(re.escape(literal))
            if field is not None:
                parts.append(_NAME_PARTS[field])
        prefix = re.escape(self.folder + "/") if self.folder else ""
        return re.compile(prefix + "".join(parts))


def read_settings(options: ProfileOptions, *, with_token: bool = True) -> GitHubSettings:
    """Check a profile's options; ConfigError naming the file and the key. Without
    `with_token`, the token is not read (its place is ""): what the identity needs alone."""
    api = options.url(default=DEFAULT_API, no_query="the token goes in 'token'")
    token = ""
    if with_token:
        token = options.secret(
            "token",
            what="a token",
            hint='a token with "Contents: read and write" on the repository, e.g. '
            'token = "${GITHUB_TOKEN}" (docs/github.md)',
        )
    repo = _repo(options)
    branch = _branch(options)
    folder = _folder(options)
    names = NameTemplate.parse(options.raw("name", "{md5}{ext}"), "name", options.bad)
    public_url = _public_url(options, repo, branch, folder)
    message = _message(options)
    return GitHubSettings(api, token, repo, branch, folder, names, public_url, message)


def _repo(options: ProfileOptions) -> str:
    value = options.raw("repo")
    if not isinstance(value, str) or not value.strip():
        options.bad("'repo' is required: the repository as owner/name, e.g. \"me/blog-images\"")
    owner, slash, name = value.strip().partition("/")
    if (
        not slash
        or not _OWNER.fullmatch(owner)
        or not _REPO_NAME.fullmatch(name)
        or name in (".", "..")
    ):
        options.bad("'repo' must be owner/name, e.g. \"me/blog-images\" (not a URL)")
    return f"{owner}/{name}"


def _branch(options: ProfileOptions) -> str:
    if "branch" not in options:
        return DEFAULT_BRANCH
    value = options.raw("branch")
    text = value.strip() if isinstance(value, str) else ""
    parts = text.split("/")
    if (
        not _BRANCH.fullmatch(text)
        or text.startswith("-")
        or any(not part or part.startswith(".") or part.endswith(".lock") for part in parts)
        or ".." in text
        or text.endswith(".")
    ):
        options.bad('\'branch\' must be a branch name such as "main" or "gh-pages"')
    return text


def _folder(options: ProfileOptions) -> str:
    value = options.raw("path", "")
    if not isinstance(value, str):
        options.bad("'path' must be a folder of the repository such as \"images/\"")
    folder = value.strip().strip("/")
    if not folder:
        return ""
    parts = folder.split("/")
    if any(
        part in ("", ".", "..") or not part.isprintable() or not _FOLDER_PART.fullmatch(part)
        for part in parts
    ):
        options.bad(
            "'path' must be a folder of the repository such as \"images/\": parts joined by "
            "'/', without '..', spaces, or any of \\ ? # % \" < > | * : ~ ^ [ ] { }"
        )
    return folder


def _public_url(options: ProfileOptions, repo: str, branch: str, folder: str) -> str:
    value = options.raw("public_url", "raw")
    if not isinstance(value, str) or not value.strip():
        options.bad('\'public_url\' must be "raw", "jsdelivr" or a URL template with {path}')
    template = PUBLIC_URL_PRESETS.get(value.strip().lower(), value.strip())
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as error:
        options.bad(
            f"'public_url' is not a valid template ({error}): write placeholders as {{path}}"
        )
    unknown = sorted({f for f in fields if f not in URL_PLACEHOLDERS})
    if unknown:
        options.bad(
            f"'public_url' has unknown placeholder(s) {unknown}; known: {{repo}}, {{branch}}, "
            "{path}"
        )
    if "path" not in fields:
        options.bad("'public_url' must contain {path}, the file's path in the repository")
    sample = template.format(repo=repo, branch=branch, path=f"{folder}/0a1b.png".lstrip("/"))
    allow_http = options.profile.trusted.allow_http or http_allowed(sample)
    problem = url_problem(sample, allow_http=allow_http)
    if problem is not None:
        options.bad(f"'public_url' does not make a usable image URL: {problem}")
    return template


def _message(options: ProfileOptions) -> str:
    if "message" not in options:
        return DEFAULT_MESSAGE
    text = options.text("message", message="'message' must be a non-empty commit message")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:
        fields = {"?"}
    if fields - {"path"}:
        options.bad("'message' may hold only the placeholder {path} (write {{ for a brace)")
    return text
