"""`python -m imgsync` runs the command line."""

from .launch import main

# Guarded: worker processes that parse on other cores import this module again.
if __name__ == "__main__":
    raise SystemExit(main())
