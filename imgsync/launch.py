"""The console script: a run its memo can answer is answered before the rest of imgsync loads.

Python's start is 20 ms; imgsync's imports would take 35 ms more, the walk and the stamps
another 25. A `sync` or `check` that found nothing to do leaves a memo (run_memo.py);
the same command line, with nothing changed, prints that memo's answer after a stat of each
file, and everything else goes on to cli.main.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    from .run_memo import replay

    status = replay(sys.argv[1:], os.environ)
    if status is not None:
        return status
    from .cli import main as run

    return run()
