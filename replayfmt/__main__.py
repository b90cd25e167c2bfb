"""`python -m replayfmt`: the command line."""

from .cli import main

raise SystemExit(main())
