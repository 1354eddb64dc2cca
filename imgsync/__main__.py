"""`python -m imgsync` runs the command line."""

from .cli import main

# Guarded: worker processes that parse on other cores import this module again.
if __name__ == "__main__":
    raise SystemExit(main())
