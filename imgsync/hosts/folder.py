"""A folder of the site itself as the image host: each image copied in under its content name.

`path` is a folder inside the project (`static/images`), `url` the prefix the site serves it
under: root-relative (`/images/`) or absolute (`https://blog.example.com/images/`). An upload
writes the bytes sent into `path/<name>` (temp file, then rename) unless a file of that name
already holds them, and gives `url + name`. Nothing leaves the machine and nothing is written
outside the project, symlinks resolved. Deleting takes only a file whose bytes still have the
MD5 its name holds: a committed cache can't make imgsync delete any other file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import string
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, ClassVar, NoReturn

from ..errors import HostError, OutsideProject
from ..files import confined, new_file_mode
from ..hosted_url import http_allowed, rooted_prefix
from ..hosted_url import url_problem as hosted_url_problem
from .base import Access, HostedImage, HostProfile, UploadRequest, UploadResult
from .content_name import DEFAULT_TEMPLATE, NameTemplate
from .kit import KitHost
from .options import ProfileOptions

_OPTIONS = ("name", "path", "url")
_CHUNK = 1 << 20
_MD5_IN_NAME = re.compile(r"[0-9a-f]{32}")
# What a file name made from the template may hold, so that the URL needs no escaping.
_NAME_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
_TEMP_PREFIX = ".imgsync-"  # temp files while copying: hidden, never listed


class FolderHost:
    """Copies images into a folder of the project that the site serves; lists and deletes them."""

    type_name: ClassVar[str] = "folder"
    # No network of imgsync's own and no credential: `imgsync doctor` tries neither, and
    # its "token" check is this host's check_access.
    on_this_machine: ClassVar[bool] = True

    def __init__(self, profile: HostProfile, http: object = None) -> None:
        options = ProfileOptions(profile, _OPTIONS)
        if profile.source is None:
            options.bad("a folder host needs a config file: 'path' is relative to its folder")
        self.project = profile.source.parent
        self.path = _folder_path(options)
        self.url = _served_url(options, allow_http=profile.trusted.allow_http)
        self.template = NameTemplate.parse(
            options.raw("name", DEFAULT_TEMPLATE), "name", options.bad
        )
        literal = "".join(text for text, *_ in string.Formatter().parse(self.template.text))
        if literal and not _NAME_CHARS.fullmatch(literal):
            options.bad("'name' may hold only letters, digits, '.', '_', '-', '/' and placeholders")
        try:
            confined(self.project / self.path, self.project)
        except OutsideProject as error:
            options.bad(f"'path' {error.reason}")

    def __repr__(self) -> str:
        return f"FolderHost({self.path!r}, url={self.url!r})"

    @property
    def identity(self) -> str:
        # The URL the site serves it under: no absolute path, so a clone elsewhere shares it.
        return f"{self.type_name} {self.url}"

    @property
    def max_size(self) -> int | None:
        return None

    # ---- uploading ----------------------------------------------------------------------

    def upload(self, request: UploadRequest) -> UploadResult:
        """Copy the bytes to send into the folder under their content name; a file of that
        name with the same bytes is kept as it is (nothing is written)."""
        name = ""
        with KitHost.open(request) as stream:  # ImageError before anything is written
            folder = self._folder(create=True)
            try:
                fd, temp = tempfile.mkstemp(dir=folder, prefix=_TEMP_PREFIX, suffix=".tmp")
            except OSError as error:
                self._fail(f"can't write into {self.path}", error)
            try:
                md5 = _copy(stream, fd)
                name = self.template.name_for(md5, request.filename)
                target = self._inside(folder / name)
                if _holds(target, md5):
                    os.unlink(temp)  # already there: the same bytes under the same name
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.chmod(temp, new_file_mode())  # mkstemp's 0o600 would hide it from the site
                    os.replace(temp, self._inside(target))
            except BaseException as error:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                if isinstance(error, OutsideProject):
                    self._fail(f"{self.path}/{name} {error.reason}")
                if isinstance(error, OSError):
                    self._fail(f"could not write into {self.path}", error)
                raise
        return UploadResult(url=self.url + name, handle={"name": name})

    def _folder(self, *, create: bool) -> Path:
        """The folder, symlinks resolved, made if missing (with `create`); HostError if it
        leads outside the project or a file is in its way."""
        folder = self.project / self.path
        try:
            real = confined(folder, self.project)
            if create:
                real.mkdir(parents=True, exist_ok=True)
            return confined(folder, self.project)
        except OutsideProject as error:
            self._fail(f"{self.path} {error.reason}")
        except OSError as error:
            self._fail(f"the folder {self.path} can't be made", error)

    def _inside(self, path: Path) -> Path:
        """`path` if its folder (symlinks resolved) is in the project; OutsideProject if not.
        The file itself may be a link: rename replaces the link, never what it names."""
        confined(path.parent, self.project)
        return path

    def _fail(self, message: str, error: OSError | None = None) -> NoReturn:
        said = (error.strerror or str(error)) if error is not None else None
        raise HostError(message, host=self.identity, host_message=said)

    # ---- doctor, listing, deleting -------------------------------------------------------

    def check_access(self) -> Access:
        """The folder is inside the project and a file can be made in it (made and removed at
        once); a missing folder is told as one the first upload makes."""
        real = self._folder(create=False)  # HostError if it leads outside the project
        if not real.exists():
            parent = next(p for p in real.parents if p.exists())
            if not parent.is_dir() or not os.access(parent, os.W_OK):
                self._fail(f"{self.path} does not exist and can't be made in {parent}")
            return Access(True, f"{self.path} does not exist yet: the first upload makes it")
        if not real.is_dir():
            self._fail(f"{self.path} is not a folder: a file is in the way")
        try:
            fd, temp = tempfile.mkstemp(dir=real, prefix=_TEMP_PREFIX, suffix=".tmp")
            os.close(fd)
            os.unlink(temp)
        except OSError as error:
            self._fail(f"can't write into {self.path}", error)
        count = sum(1 for _ in self._files(real))
        return Access(True, f"{self.path} is writable ({count} files), served under {self.url}")

    def list_images(
        self, progress: Callable[[int, int | None], None] | None = None
    ) -> Iterator[HostedImage]:
        """Every file of the folder (and its subfolders), but hidden ones; a file removed
        while listing is left out."""
        if not (self.project / self.path).is_dir():
            return
        real = self._folder(create=False)
        names = sorted(self._files(real))
        count = 0
        for name in names:
            try:
                st = os.stat(real / name, follow_symlinks=False)
            except FileNotFoundError:
                continue
            when = datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            count += 1
            yield HostedImage(self.url + name, {"name": name}, st.st_size, when, name)
        if progress is not None:
            progress(count, count)

    def _files(self, real: Path) -> Iterator[str]:
        for top, dirs, files in os.walk(real):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for file in files:
                if not file.startswith("."):
                    yield (Path(top) / file).relative_to(real).as_posix()

    def delete(self, handle: Mapping[str, str]) -> None:
        """Delete the file `name` of the folder, only if its bytes have the MD5 its name
        holds (a file imgsync copied there); one already gone is no error."""
        name = handle.get("name")
        if not isinstance(name, str) or not _usable_name(name):
            raise ValueError("a folder's file is deleted by the 'name' its upload gave; none is")
        named = set(_MD5_IN_NAME.findall(name))  # {name} may hold hex digits too
        if not named:
            raise ValueError(f"{name!r} holds no MD5: it is not a name imgsync gives")
        real = self._folder(create=False) if (self.project / self.path).is_dir() else None
        if real is None:
            return
        target = self._inside(real / name)
        if not os.path.lexists(target):
            return
        if os.path.islink(target) or _md5_of(target) not in named:
            self._fail(
                f"{self.path}/{name} was not deleted: its bytes are not those its name says, so "
                "it is not a file imgsync copied there (edited, or put there by hand)"
            )
        try:
            os.unlink(target)
        except FileNotFoundError:
            return
        except OSError as error:
            self._fail(f"{self.path}/{name} could not be deleted", error)


def _copy(stream: IO[bytes], fd: int) -> str:
    """Write `stream` into the open file `fd` (closed after, synced): the MD5 of its bytes."""
    digest = hashlib.md5()
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _holds(path: Path, md5: str) -> bool:
    """Whether `path` is a regular file (no link) whose bytes have `md5`."""
    return _md5_of(path) == md5


def _md5_of(path: Path) -> str | None:
    """The MD5 of the regular file `path` (never through a link); None if there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None
        return hashlib.file_digest(stream, "md5").hexdigest()


def _usable_name(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (
        bool(parts)
        and _NAME_CHARS.fullmatch(name) is not None
        and not name.startswith("/")
        and not any(part.startswith(".") for part in parts)
    )


def _folder_path(options: ProfileOptions) -> str:
    """`path`: a relative folder below the config file's, `/` only, no `..`."""
    value = options.raw("path")
    example = 'e.g. "static/images" (Hugo) or "assets/images" (Jekyll)'
    if not isinstance(value, str) or not value.strip():
        options.bad(
            f"'path' is required: the folder, inside the project, to copy images into, {example}"
        )
    text = value.strip().rstrip("/")
    parts = PurePosixPath(text).parts
    if (
        text.startswith("/")
        or "\\" in text
        or (len(text) > 1 and text[1] == ":")
        or ".." in parts
        or not parts
        or parts == (".",)
    ):
        options.bad(
            "'path' must be a folder below the project's top, written relative to the config "
            f"file with '/' and without '..', {example}"
        )
    if any(part in (".git", ".imgsync") for part in parts):
        options.bad("'path' can't be in .git or .imgsync, git's and imgsync's own folders")
    return PurePosixPath(*[p for p in parts if p != "."]).as_posix()


def _served_url(options: ProfileOptions, *, allow_http: bool) -> str:
    """`url`: the prefix the site serves the folder under, ending in `/`."""
    value = options.raw("url")
    if not isinstance(value, str) or not value.strip():
        options.bad(
            "'url' is required: the URL prefix the site serves 'path' under, e.g. \"/images/\" "
            'or "https://blog.example.com/images/"'
        )
    text = value.strip()
    if text.startswith("/") and not text.startswith("//"):
        prefix = rooted_prefix(text)
        if prefix is None:
            options.bad("'url' must be a plain path such as \"/images/\" (no '..', '?', '#', '%')")
        return prefix
    if "?" in text or "#" in text:
        options.bad("'url' must not hold a query (?...) or a fragment (#...)")
    problem = hosted_url_problem(text, allow_http=allow_http or http_allowed(text))
    if problem is not None:
        options.bad(
            "'url' must be a root-relative path such as \"/images/\" or an absolute "
            f"https:// URL, but {problem}"
        )
    return text if text.endswith("/") else text + "/"
