"""S3-compatible object storage (AWS S3, Cloudflare R2, MinIO, Backblaze B2, Aliyun OSS,
Tencent COS...): content-addressed objects in a bucket, through botocore (docs/s3.md).

An object's key is `{prefix}{name}`, the name filled from the MD5 of the bytes sent
(content_name.py), so an upload is a HEAD first and a PUT only when the object is missing:
a rerun, a second machine or a crash between the PUT and the cache never sends an image
twice. The URL written is `{public_url}/{key}`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from ..errors import HostError
from .base import Access, HostedImage, HostProfile, UploadRequest, UploadResult
from .content_name import sent_md5
from .kit import KitHost
from .options import ProfileOptions
from .s3_client import LastReply, S3Errors, make_client
from .s3_options import OPTIONS, identity_of, read_s3_options

SINGLE_PUT_LIMIT = 5 * 1024**3  # S3's largest object in one PUT; imgsync sends no multipart
_MD5_IN_KEY = re.compile(r"[0-9a-f]{32}")
_KEY_CHARS = re.compile(r"[A-Za-z0-9._/-]{1,1024}")


class S3Host(KitHost):
    """Uploads to a bucket of an S3-compatible server; lists and deletes its objects."""

    type_name: ClassVar[str] = "s3"
    secret_option: ClassVar[str] = "secret_key"

    def __init__(self, profile: HostProfile, http: httpx.Client) -> None:
        options = ProfileOptions(profile, OPTIONS)
        self.settings = read_s3_options(options)
        access, secret = self.settings.credentials
        super().__init__(self.settings.endpoint, secret, http, also_secret=(access,))
        self._last = LastReply()
        self._client = make_client(self.settings, http, profile)
        self._client.meta.events.register("before-parse.s3.*", self._last.keep)
        self._s3 = S3Errors(self.errors, self.settings, profile.name, self._last)
        self.page_size = 1000  # keys a listing page asks for (S3's most); tests shorten it
        self.puts = 0  # objects sent, for tests and reports: a HEAD hit sends none

    @property
    def identity(self) -> str:
        # The bucket is the account: another bucket is another host. Prefix, name and
        # public_url may change without it (old objects stay where their URLs say).
        return f"{self.type_name} {self.settings.endpoint}/{self.settings.bucket}"

    @classmethod
    def identity_of(cls, profile: HostProfile) -> str:
        """The identity from the options alone, without the keys (a `verify` without them)."""
        return identity_of(ProfileOptions(profile, OPTIONS))

    @property
    def max_size(self) -> int | None:
        return SINGLE_PUT_LIMIT

    # ---- uploading -------------------------------------------------------------------

    def upload(self, request: UploadRequest) -> UploadResult:
        md5 = sent_md5(request)  # reads the bytes: an unreadable file fails before any request
        key = self.settings.key_for(md5, request.filename)
        if not self._exists(key, request.size):
            self._put(key, request, md5)
        return UploadResult(url=self.settings.url_for(key), handle={"key": key})

    def _exists(self, key: str, size: int) -> bool:
        """HEAD the object: whether it is there already (with `size` bytes)."""
        bucket = self.settings.bucket
        try:
            reply = self._s3.call("check for the object (HEAD)", lambda: self._head(bucket, key))
        except _Missing:
            return False
        headers = reply.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if "etag" not in headers:  # a web page answering every path with 200
            self._s3.not_s3("check for the object (HEAD)", 200)
        if reply.get("ContentLength") != size:
            self.errors.fail(
                HostError,
                f"the bucket holds {key!r} with {reply.get('ContentLength')} bytes, not the "
                f"{size} bytes of this image: the object was changed by something else; delete "
                "it, or change 'name' or 'prefix'",
                200,
            )
        return True

    def _head(self, bucket: str, key: str) -> dict[str, Any]:
        import botocore.exceptions as bex

        try:
            reply: dict[str, Any] = self._client.head_object(Bucket=bucket, Key=key)
        except bex.ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = error.response.get("Error", {}).get("Code")
            if status == 404 and code in ("404", "NoSuchKey", "NotFound"):
                raise _Missing from None
            raise
        return reply

    def _put(self, key: str, request: UploadRequest, md5: str) -> None:
        digest = base64.b64encode(bytes.fromhex(md5)).decode()
        with self.open(request) as stream:
            reply = self._s3.call(
                "upload the object (PUT)",
                lambda: self._client.put_object(
                    Bucket=self.settings.bucket,
                    Key=key,
                    Body=stream,
                    ContentLength=request.size,
                    ContentType=request.mime,
                    ContentMD5=digest,
                ),
            )
        if "ETag" not in reply:  # S3 answers every PUT with the object's ETag
            self._s3.not_s3("upload the object (PUT)", self._last.status)
        self.puts += 1

    # ---- doctor ----------------------------------------------------------------------

    def check_access(self) -> Access:
        """List one key under the prefix: the credentials, the bucket and the right to list
        (which a HEAD of a missing object needs) in one read."""
        reply = self._list_page(None, 1)
        count = reply.get("KeyCount", len(reply.get("Contents", [])))
        where = f"bucket {self.settings.bucket!r}" + (
            f" under {self.settings.prefix!r}" if self.settings.prefix else ""
        )
        found = "it is empty" if not count else "it holds objects"
        return Access(True, f"the S3 server accepted the credentials (listed {where}: {found})")

    # ---- listing and deleting --------------------------------------------------------

    def list_images(
        self, progress: Callable[[int, int | None], None] | None = None
    ) -> Iterator[HostedImage]:
        """Objects under the prefix whose names fit the template: others in the bucket are
        not imgsync's, so `prune` never sees them. S3 lists in key order from a continuation
        token, so an object deleted or added meanwhile shifts nothing."""
        token: str | None = None
        listed = 0
        while True:
            reply = self._list_page(token, self.page_size)
            for item in reply.get("Contents", []):
                key = item.get("Key")
                if isinstance(key, str) and self.settings.could_be_ours(key):
                    listed += 1
                    yield _hosted(self.settings.url_for(key), key, item)
            token = reply.get("NextContinuationToken")
            done = not reply.get("IsTruncated") or not token
            if progress is not None:
                progress(listed, listed if done else None)
            if done:
                return

    def _list_page(self, token: str | None, size: int) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "Bucket": self.settings.bucket,
            "Prefix": self.settings.prefix,
            "MaxKeys": size,
        }
        if token:
            arguments["ContinuationToken"] = token
        reply: dict[str, Any] = self._s3.call(
            "list the bucket", lambda: self._client.list_objects_v2(**arguments)
        )
        if "IsTruncated" not in reply:
            self._s3.not_s3("list the bucket", self._last.status)
        return reply

    def delete(self, handle: Mapping[str, str]) -> None:
        """DELETE the object; S3 answers 204 for a key already gone."""
        key = handle.get("key")
        if not isinstance(key, str) or not _is_our_kind_of_key(key):
            raise ValueError(
                "an S3 object is deleted by the 'key' its upload gave (a name holding its MD5); "
                "none is known"
            )
        self._s3.call(
            "delete the object",
            lambda: self._client.delete_object(Bucket=self.settings.bucket, Key=key),
        )


class _Missing(Exception):
    """HEAD said 404: the object is not there."""


def _is_our_kind_of_key(key: str) -> bool:
    """A key imgsync could have made: safe characters, no `..`, holding an MD5."""
    parts = key.split("/")
    return (
        _KEY_CHARS.fullmatch(key) is not None
        and "" not in parts
        and ".." not in parts
        and _MD5_IN_KEY.search(key) is not None
    )


def _hosted(url: str, key: str, item: Mapping[str, Any]) -> HostedImage:
    size = item.get("Size")
    when = item.get("LastModified")
    stamp = (
        when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(when, datetime) else ""
    )
    return HostedImage(
        url=url,
        handle={"key": key},
        size=size if type(size) is int else None,
        uploaded_at=stamp,
        name=key.rsplit("/", 1)[-1],
    )
