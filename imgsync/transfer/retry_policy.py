"""How hard to try one request: attempts for transient failures, waits for rate limits, time.

The defaults here are the only ones: the configuration starts from them.
"""

from __future__ import annotations

from typing import NamedTuple


class RetryPolicy(NamedTuple):
    """How hard to try: attempts for transient failures, waits for rate limits, time for both."""

    max_attempts: int = 6
    max_retry_time: float = 1800.0  # seconds one upload may spend waiting and retrying
    rate_limit_wait: float = 60.0  # the longest wait after a rate limit that doesn't say how long
    rate_limit_backoff: float = 5.0  # the first such wait; it doubles up to rate_limit_wait
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
