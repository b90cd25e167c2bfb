import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

#: The real memvid corpus (README in that folder); tests that need it skip without it.
REAL = Path(os.environ.get("REPLAYFMT_REAL_FIXTURES", "/work/shared/real-fixtures"))
