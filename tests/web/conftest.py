"""The dashboard's tests reuse the real-server helpers of tests/api (api_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))
