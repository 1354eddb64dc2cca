"""The options of an S3 profile (s3.py), read and checked: where objects go, under what names,
the credentials, and the URL the world reads them at.

Nothing here touches the network or the S3 library: a profile is checked before either.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import quote, urlsplit

from .content_name import DEFAULT_TEMPLATE, NameTemplate
from .options import ProfileOptions

OPTIONS = (
    "access_key",
    "bucket",
    "endpoint",
    "name",
    "path_style",
    "prefix",
    "public_url",
    "region",
    "secret_key",
)
DEFAULT_REGION = "us-east-1"  # what MinIO, Ceph and most S3-compatible servers expect
# Bucket names as S3-compatible servers take them: AWS's rules, plus the upper case and
# underscores some older servers allow.
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_PREFIX_CHARS = re.compile(r"[A-Za-z0-9._/-]*")
_WHOLE_VARIABLE = re.compile(r"\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*")


@dataclass(frozen=True)
class S3Settings:
    """A checked S3 profile. The keys are held in `credentials` alone, out of every repr."""

    endpoint: str  # scheme, host, port (and a path, for a gateway), no trailing slash
    bucket: str
    region: str
    prefix: str  # "" or a folder ending in "/"
    public_url: str  # where `{public_url}/{key}` is read; no trailing slash
    path_style: bool
    template: NameTemplate
    credentials: tuple[str, str] = field(repr=False)  # (access key, secret key)
    # Where each credential came from, for advice: "from ${S3_SECRET_KEY}" or "'secret_key'
    # in the configuration".
    credential_names: tuple[str, str] = ("'access_key'", "'secret_key'")

    def key_for(self, md5: str, filename: str) -> str:
        """The object key for bytes with this MD5, sent as `filename`."""
        return self.prefix + self.template.name_for(md5, filename)

    def url_for(self, key: str) -> str:
        """The public URL of the object `key`."""
        return f"{self.public_url}/{quote(key, safe='/-._~')}"

    def could_be_ours(self, key: str) -> bool:
        """Whether `key` is a name this profile makes: under the prefix, filling the template."""
        if not key.startswith(self.prefix):
            return False
        return template_pattern(self.template).fullmatch(key[len(self.prefix) :]) is not None


def template_pattern(template: NameTemplate) -> re.Pattern[str]:
    """A pattern matching every name `template` can give."""
    parts = {"md5": "[0-9a-f]{32}", "ext": r"(?:\.[a-z0-9]+)?", "name": "[A-Za-z0-9._-]+"}
    pattern = ""
    for literal, placeholder, _, _ in _fields(template.text):
        pattern += re.escape(literal) + (parts[placeholder] if placeholder else "")
    return re.compile(pattern)


def _fields(text: str) -> list[tuple[str, str | None, str | None, str | None]]:
    import string

    return list(string.Formatter().parse(text))


def identity_of(options: ProfileOptions) -> str:
    """`s3 {endpoint}/{bucket}`: the host's identity, which needs no key."""
    return "s3 " + "/".join(_place(options))


def _place(options: ProfileOptions) -> tuple[str, str]:
    """The endpoint and the bucket, checked."""
    # The API base: what IMGSYNC_HOST_URL pins, so a pull request can't point the keys elsewhere.
    endpoint = options.url("endpoint", example="https://s3.eu-west-1.amazonaws.com", pinned=True)
    bucket = _bucket(options)
    if PurePosixPath(urlsplit(endpoint).path).name == bucket:
        options.bad(
            "'endpoint' ends with the bucket's name: give the server's address alone "
            "(e.g. https://<account>.r2.cloudflarestorage.com); the bucket goes in 'bucket'"
        )
    return endpoint, bucket


def read_s3_options(options: ProfileOptions) -> S3Settings:
    """Check an S3 profile's options; ConfigError naming the file, profile and key."""
    endpoint, bucket = _place(options)
    region = _region(options)
    path_style = options.flag("path_style")
    if path_style is None:  # a bucket can't be a subdomain of an IP address or localhost
        path_style = _is_address(urlsplit(endpoint).hostname or "")
    prefix = _prefix(options)
    template = NameTemplate.parse(options.raw("name", DEFAULT_TEMPLATE), "name", options.bad)
    if not _PREFIX_CHARS.fullmatch(template.text.replace("{", "").replace("}", "")):
        options.bad("'name' may hold only letters, digits, '.', '_', '-', '/' and placeholders")
    default_url = _bucket_url(endpoint, bucket, path_style)
    public_url = (
        options.url("public_url", example="https://img.example.com")
        if "public_url" in options
        else default_url
    )
    access = options.secret(
        "access_key", what="an access key", hint='e.g. access_key = "${S3_ACCESS_KEY}"'
    )
    secret = options.secret(
        "secret_key", what="a secret key", hint='e.g. secret_key = "${S3_SECRET_KEY}"'
    )
    return S3Settings(
        endpoint=endpoint,
        bucket=bucket,
        region=region,
        prefix=prefix,
        public_url=public_url,
        path_style=path_style,
        template=template,
        credentials=(access, secret),
        credential_names=(_origin(options, "access_key"), _origin(options, "secret_key")),
    )


def _bucket(options: ProfileOptions) -> str:
    bucket = options.text("bucket", message="'bucket' is required, e.g. bucket = \"my-images\"")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        options.bad(
            "'bucket' must be a bucket's name: 3 to 255 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit"
        )
    return bucket


def _region(options: ProfileOptions) -> str:
    if "region" not in options:
        return DEFAULT_REGION
    region = options.text("region", message="'region' must be a region name such as 'us-east-1'")
    if not _REGION.fullmatch(region):
        options.bad("'region' must be a region name such as 'us-east-1' or 'auto'")
    return region


def _prefix(options: ProfileOptions) -> str:
    """The folder objects go into: "" or "a/b/" (a missing final slash added)."""
    value = options.raw("prefix", "")
    if not isinstance(value, str):
        options.bad("'prefix' must be a string such as \"images/\"")
    prefix = value.strip().strip("/")
    if not prefix:
        return ""
    if not _PREFIX_CHARS.fullmatch(prefix) or ".." in prefix.split("/") or "//" in prefix:
        options.bad(
            "'prefix' must be a folder such as \"blog/images/\": letters, digits, '.', '_', "
            "'-' and '/', without '..' or empty parts"
        )
    return prefix + "/"


def _bucket_url(endpoint: str, bucket: str, path_style: bool) -> str:
    """Where the bucket's objects are read when no public_url is set."""
    if path_style:
        return f"{endpoint}/{bucket}"
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{bucket}.{parts.netloc}{parts.path}"


def _is_address(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _origin(options: ProfileOptions, key: str) -> str:
    """Where a credential is read from, for advice: its environment variable, or its option."""
    if key in options.origins:
        return f"from {options.origins[key]}"
    value = options.profile.options.get(key)
    whole = _WHOLE_VARIABLE.fullmatch(value) if isinstance(value, str) else None
    return f"from ${{{whole.group(1)}}}" if whole else f"{key!r} in the configuration"
