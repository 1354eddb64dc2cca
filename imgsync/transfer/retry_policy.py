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
    # A host that can't be reached at all is tried this often in all, by all workers
    # together (capped by max_attempts), waiting 1 s, then 2 s...: then it is given up.
    unreachable_attempts: int = 3
    unreachable_backoff: float = 1.0
