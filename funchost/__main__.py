"""``python -m funchost``."""

from __future__ import annotations

from funchost.cli import main

raise SystemExit(main())
