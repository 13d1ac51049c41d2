"""``python -m minflow <command>``: the thesis reproduction's command line (minflow/thesis/cli.py)."""
import sys

from .thesis.cli import main

if __name__ == "__main__":
    sys.exit(main())
