"""``python -m pytm``: command-line entry point (see pytm._run)."""

import sys

from ._run import main

if __name__ == "__main__":
    sys.exit(main())
