"""What GitHub's REST API answers, judged: its rate limits (both kinds), its refusals, and
the replies that are not GitHub's at all (a wrong 'url', a proxy's page).

Facts from GitHub's documentation ("Rate limits for the REST API", "REST API endpoints for
repository contents"): a used-up primary limit is a 403 or 429 with `x-ratelimit-remaining:
0` (wait until `x-ratelimit-reset`, a Unix time); a secondary limit is a 403 or 429 whose
message says so, with `retry-after` (seconds) when GitHub tells, else "wait at least one
minute". 401 is "Bad credentials"; 404 is also what a repository the token may not see
answers; 409 and 422 are for the caller to judge (github.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, NoReturn

import httpx

from ..errors import AuthError, HostError, WrongEndpoint
from ._http import HostErrors, retry_after
from ._pacing import reset_at
from .kit import ReplyRules, text

SECONDARY_WAIT = 60.0  # seconds: "wait for at least one minute before retrying"
_SCOPES_ADVICE = (
    'a fine-grained token needs "Contents: read and write" on this repository; a classic '
    "token the 'repo' scope (or 'public_repo' for a public repository)"
)
REPLIES = ReplyRules(
    api="GitHub",
    base="https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise",
    redirect=(
        WrongEndpoint,
        "GitHub redirected the request to {where}: the repository was renamed or moved (set "
        "'repo' to its new owner/name), or 'url' is not the API base",
    ),
    statuses={
        401: (AuthError, "GitHub rejected the token: check 'token' (is it expired or revoked?)"),
        403: (AuthError, f"GitHub refused: the token may not do this; {_SCOPES_ADVICE}"),
    },
    speaker="GitHub",
    refuse_other_4xx=True,
)


def body_of(response: httpx.Response) -> Any:
    """The reply's JSON (an object or a list), or None when it is not JSON."""
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        return None


def said_in(body: Any) -> str | None:
    """GitHub's own words: the `message` of an error reply."""
    return text(body.get("message")) if isinstance(body, Mapping) else None


def error_codes(body: Any) -> set[str]:
    """The `errors[].code` of a validation reply, e.g. {"too_large"}."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return set()
    return {str(e.get("code")) for e in errors if isinstance(e, Mapping) and e.get("code")}


def check_rate_limits(errors: HostErrors, response: httpx.Response, said: str | None) -> None:
    """RateLimited for a 403 or 429 that is one of GitHub's rate limits; nothing otherwise."""
    code, headers = response.status_code, response.headers
    if code not in (403, 429):
        return
    if headers.get("x-ratelimit-remaining", "").strip() == "0":
        now = time.time()
        reset = reset_at(headers, now)
        limit = headers.get("x-ratelimit-limit", "").strip()
        size = f" of {limit} requests an hour" if limit.isdigit() else ""
        wait = max(0.0, reset - now) if reset is not None else None
        errors.rate_limited(f"GitHub's rate limit{size} is used up", wait, code, said)
    wait = retry_after(headers.get("retry-after"))
    if wait is not None or code == 429 or (said and "rate limit" in said.lower()):
        message = (
            "GitHub's secondary rate limit asks us to slow down (too many requests or "
            "commits in a short time)"
        )
        errors.rate_limited(message, SECONDARY_WAIT if wait is None else wait, code, said)


def judge(
    errors: HostErrors, response: httpx.Response, *, repo: str, branch: str
) -> dict[str, Any]:
    """The JSON object of a reply that succeeded (2xx); for any other, the error it means."""
    body = body_of(response)
    said = said_in(body)
    check_rate_limits(errors, response, said)
    code = response.status_code
    if code == 404 and isinstance(body, Mapping):
        not_found(errors, said, repo=repo, branch=branch)
    if code == 422 and "too_large" in error_codes(body):
        errors.fail(
            HostError,
            "GitHub refused the file as too large for its contents API (100 MB at most)",
            code,
            said,
        )
    REPLIES.check_status(errors, response, said)
    if not isinstance(body, dict):
        REPLIES.not_the_api(errors, response, said)
    return body


def not_found(errors: HostErrors, said: str | None, *, repo: str, branch: str) -> NoReturn:
    """A JSON 404: a branch that does not exist, or a repository the token can't see."""
    words = (said or "").lower()
    if "branch" in words or "no commit found for the ref" in words:
        errors.fail(
            WrongEndpoint,
            f"the branch {branch!r} does not exist in {repo}: create it, or set 'branch' to one "
            "that does",
            404,
            said,
        )
    errors.fail(
        WrongEndpoint,
        f"GitHub answered 404 for {repo}: the repository does not exist, or the token may not "
        f"see it (GitHub answers 404 for both); check 'repo', and that {_SCOPES_ADVICE}",
        404,
        said,
    )
