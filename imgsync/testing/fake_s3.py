"""A real S3 API on loopback for the S3 host's tests: moto's server, with IAM checking the
keys, behind a small forwarding proxy that counts the requests and injects faults.

    python -m imgsync.testing.fake_s3 --port 0

prints the proxy's URL, and on stderr the bucket and a key pair for it (test keys, good
only here).

moto is a development dependency (`pip install -e '.[dev]'`). One moto server runs per
process (its state is global); each S3Proxy gets a bucket and an IAM user of its own.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx

from .http import FakeServer, Reply, Request, html_reply, serve_until_interrupted

S3Fault = Literal["429", "slowdown", "500", "502", "html", "reset", "hang", "echo"]
REGION = "us-east-1"
SERVER_ERROR = "We encountered an internal error. Please try again."
# Headers of moto's reply that the proxy's own server writes, or that describe one hop only.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-type", "date"}
    | {"server"}
)


def s3_error(status: int, code: str, message: str, **headers: str) -> Reply:
    """An S3 error reply, as S3 words them."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId></Error>"
    )
    return Reply(status, body.encode(), "application/xml", dict(headers))


class Moto:
    """moto's server in this process, IAM on: only keys made by `new_account` are taken."""

    _shared: ClassVar[Moto | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._names = itertools.count(1)
        iam = self.client("iam", ("AKIAIOSFODNN7EXAMPLE", "unchecked-before-iam-is-on"))
        iam.create_user(UserName="admin")
        made = iam.create_access_key(UserName="admin")["AccessKey"]
        everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=_policy(everything))
        self.admin = (made["AccessKeyId"], made["SecretAccessKey"])
        # From here on every request must be signed by a key IAM knows.
        httpx.post(f"{self.url}/moto-api/reset-auth", content=b"0", trust_env=False)
        self.iam = self.client("iam", self.admin)
        self.s3 = self.client("s3", self.admin)

    @classmethod
    def shared(cls) -> Moto:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def client(self, service: str, keys: tuple[str, str]) -> Any:
        import botocore.session
        from botocore.config import Config

        config = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
        return botocore.session.Session().create_client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=keys[0],
            aws_secret_access_key=keys[1],
            config=config,
        )

    def new_account(self) -> tuple[str, str, tuple[str, str]]:
        """A fresh bucket and a user whose key may do anything in it: (bucket, user, keys)."""
        n = next(self._names)
        bucket, user = f"images-{n}", f"blog-{n}"
        self.s3.create_bucket(Bucket=bucket)
        self.iam.create_user(UserName=user)
        made = self.iam.create_access_key(UserName=user)["AccessKey"]
        self.allow(user, bucket)
        return bucket, user, (made["AccessKeyId"], made["SecretAccessKey"])

    def allow(self, user: str, bucket: str, *, deny_put: bool = False) -> None:
        resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
        statements = [{"Effect": "Allow", "Action": "s3:*", "Resource": resources}]
        if deny_put:
            statements.append({"Effect": "Deny", "Action": "s3:PutObject", "Resource": resources})
        self.iam.put_user_policy(
            UserName=user, PolicyName="bucket", PolicyDocument=_policy(*statements)
        )

    def keys(self, bucket: str) -> list[str]:
        """Every key in `bucket`."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@dataclass(eq=False, kw_only=True)
class S3Proxy(FakeServer[S3Fault]):
    """Forwards to moto; faults replace the answer to an object's PUT (the upload).

    An unsigned GET (the world reading a public URL) is signed here with the admin key:
    moto 5.2 fails unsigned requests once IAM is on, where a public bucket would serve.
    """

    max_size_kb: float | None = None  # a PUT above it gets S3's EntityTooLarge
    moto: Moto = field(default_factory=Moto.shared)
    bucket: str = field(default="", init=False)
    user: str = field(default="", init=False)
    keys: tuple[str, str] = field(default=("", ""), init=False, repr=False)
    methods: Counter[str] = field(default_factory=Counter, init=False)  # "PUT object" -> count

    def __post_init__(self) -> None:
        super().__post_init__()
        self.bucket, self.user, self.keys = self.moto.new_account()
        self._upstream = httpx.Client(base_url=self.moto.url, trust_env=False, timeout=30.0)

    @property
    def puts(self) -> int:
        return self.methods["PUT object"]

    def stored(self) -> list[str]:
        return self.moto.keys(self.bucket)

    def respond(self, req: Request) -> Reply:
        parts = req.path.lstrip("/").split("/", 1)
        what = "object" if len(parts) == 2 and parts[1] else "bucket"
        with self._lock:
            self.methods[f"{req.method} {what}"] += 1
        if req.method == "PUT" and what == "object":
            fault = self.take_fault()
            if fault is not None:
                return self._fault(fault, req)
            if self.max_size_kb is not None and len(req.body) > self.max_size_kb * 1024:
                return s3_error(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
                )
        return self._forward(req)

    def _fault(self, fault: S3Fault, req: Request) -> Reply:
        generic = self.generic_fault(fault)
        if generic is not None:
            return generic
        if fault == "429":
            return s3_error(
                429, "TooManyRequests", "Please reduce your request rate.", **{"Retry-After": "7"}
            )
        if fault == "slowdown":
            return s3_error(503, "SlowDown", "Please reduce your request rate.")
        if fault == "500":
            return s3_error(500, "InternalError", SERVER_ERROR)
        if fault == "502":
            return html_reply(502, "502 Bad Gateway", "<hr><center>nginx</center>")
        if fault == "echo":  # a debug page printing the request's headers back
            said = f"Authorization: {req.headers.get('authorization', '')}"
            return s3_error(500, "InternalError", said)
        return html_reply(200, "Welcome to nginx!")  # "html": a web site, not the S3 API

    def _forward(self, req: Request) -> Reply:
        headers = {
            k: v for k, v in req.headers.items() if k not in ("content-length", "connection")
        }
        if "authorization" not in headers and "X-Amz-Signature" not in req.raw_query:
            headers = self._signed(req)
        target = f"{req.path}?{req.raw_query}" if req.raw_query else req.path
        url = httpx.URL(self.moto.url).copy_with(raw_path=target.encode())  # as signed
        answer = self._upstream.request(req.method, url, headers=headers, content=req.body)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        if req.method == "HEAD" and "content-length" in answer.headers:
            kept["Content-Length"] = answer.headers["content-length"]
        ctype = answer.headers.get("content-type", "application/xml")
        return Reply(answer.status_code, answer.content, ctype, kept)

    def _signed(self, req: Request) -> dict[str, str]:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        request = AWSRequest(
            req.method, f"{self.site}{req.path}", headers={"host": req.headers.get("host", "")}
        )
        S3SigV4Auth(Credentials(*self.moto.admin), "s3", REGION).add_auth(request)
        return dict(request.headers.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A real S3 API (moto) on loopback, for tests.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    proxy = S3Proxy(port=args.port)
    # Keys moto made for this run only; the URL alone goes to stdout, for scripts.
    keys = f"bucket={proxy.bucket} access_key={proxy.keys[0]} secret_key={proxy.keys[1]}"
    print(keys, file=sys.stderr, flush=True)
    return serve_until_interrupted(proxy)


if __name__ == "__main__":
    raise SystemExit(main())
