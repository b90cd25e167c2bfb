"""`python -m replayfmt.cli`: the command line."""

from . import main

raise SystemExit(main())
