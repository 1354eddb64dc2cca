"""`python -m imgsync` runs the command line."""

from imgsync.cli import main

raise SystemExit(main())
