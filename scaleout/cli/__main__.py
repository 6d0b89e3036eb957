"""``python -m scaleout.cli``: the ``scaleout`` command."""

from __future__ import annotations

import sys

from scaleout.cli import main

if __name__ == "__main__":
    sys.exit(main())
