"""``python -m zerograd``: the command-line entry point."""
import sys

try:
    from zerograd.cli import main
except KeyboardInterrupt:  # Ctrl-C while the package is still being imported
    print("zerograd: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

if __name__ == "__main__":
    raise SystemExit(main())
