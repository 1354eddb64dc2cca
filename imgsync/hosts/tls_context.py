"""The TLS context of imgsync's HTTP client, built when a connection first needs it.

httpx builds its SSL context when the client is made (`httpx.create_ssl_context()`), and
reading the CA bundle takes 20-35 ms: a sixth of a one-image sync, paid even when the host
is on http:// and no TLS is ever spoken. `TLSOnFirstUse` stands in for that context; its
first attribute read (httpcore's, as a connection starts TLS) builds the very context httpx
would have built, the same CA bundle and the same environment (SSL_CERT_FILE,
SSL_CERT_DIR) read, and every attribute after is that context's.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl


class TLSOnFirstUse:
    """httpx's default SSL context (verify=True, trust_env=True), built on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # uploads run on several threads
        self._context: ssl.SSLContext | None = None

    @property
    def built(self) -> bool:
        """Whether a connection has needed the context yet."""
        return self._context is not None

    def __getattr__(self, name: str) -> Any:
        # Only for names this object lacks: every one of them is the real context's.
        return getattr(self._real(), name)

    def _real(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                import httpx

                self._context = httpx.create_ssl_context(verify=True, trust_env=True)
            return self._context
