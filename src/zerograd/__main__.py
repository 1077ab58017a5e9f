"""``python -m zerograd``: the command-line entry point."""
from zerograd.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
