"""doctor's network check: the way to the host taken step by step (DNS, connect, TLS), so
that a failure names its step, which an HTTP client's one error can't.

Each step is tried once: a check never retries. Through a proxy nothing is tested
directly; the token check (an HTTP request) goes through it.
"""

from __future__ import annotations

import socket
import ssl
from typing import Literal, NamedTuple
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass

from .host_url import redact_url
from .profile import HttpSettings


class Finding(NamedTuple):
    """What the check found: its verdict, in words, and what to do when it failed."""

    verdict: Literal["ok", "fail", "note"]
    found: str
    advice: str = ""


def reach(url: str, http: HttpSettings) -> Finding:
    """DNS, connect, TLS, each once (a check never retries), saying which step failed."""
    parts = urlsplit(url)
    name, secure = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    proxies = getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and not proxy_bypass(name):  # NO_PROXY, as httpx reads it
        shown = redact_url(proxy)
        found = f"through the proxy {shown}: not tested directly; the token check goes through it"
        return Finding("note", found)
    try:
        addresses = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return Finding(
            "fail",
            f"DNS: the name {name!r} can't be resolved ({error.strerror or error})",
            "check 'url' for a typo, and that this machine is online",
        )
    timeout = http.connect_timeout
    failure: OSError | None = None
    for family, kind, proto, _, address in addresses:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
                if not secure:
                    return Finding("ok", f"{name}:{port} reachable (DNS, connect; http: no TLS)")
                return _tls(sock, name, port, http)
        except OSError as error:  # the next address may answer (IPv6, then IPv4)
            failure = error
    if isinstance(failure, TimeoutError):
        said = f"connect: {name}:{port} did not answer within {timeout:g}s"
    elif isinstance(failure, ConnectionRefusedError):
        said = f"connect: {name}:{port} refused the connection (nothing listens there)"
    else:
        reason = failure.strerror if failure and failure.strerror else str(failure)
        said = f"connect: {name}:{port} can't be reached ({reason})"
    return Finding(
        "fail",
        said,
        "check that the host is up and that 'url' names the right port; check a firewall",
    )


def _tls(sock: socket.socket, name: str, port: int, http: HttpSettings) -> Finding:
    import httpx

    ca_file = http.ca_file
    context = (
        ssl.create_default_context(cafile=str(ca_file))
        if ca_file
        else httpx.create_ssl_context()  # what the uploads use: certifi, or SSL_CERT_FILE
    )
    try:
        with context.wrap_socket(sock, server_hostname=name) as secured:
            version = secured.version() or "TLS"
    except ssl.SSLCertVerificationError as error:
        return Finding(
            "fail",
            f"TLS: the certificate of {name} is not trusted ({error.verify_message})",
            "if the host uses a private CA, set ca_file (or SSL_CERT_FILE) to its PEM file",
        )
    except (ssl.SSLError, OSError) as error:
        return Finding(
            "fail",
            f"TLS: the handshake with {name}:{port} failed ({error.strerror or error})",
            "check that 'url' names the HTTPS port of the host",
        )
    return Finding("ok", f"{name}:{port} reachable (DNS, connect, {version})")
