"""Progress bars: tqdm when it is installed, a plain fallback otherwise, silent off a terminal."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class _PlainBar:
    """A minimal text progress bar that redraws one line with a carriage return."""

    def __init__(self, total: Optional[int], desc: str, unit: str, stream: TextIO, unit_scale: bool) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.stream = stream
        self.unit_scale = unit_scale
        self.n = 0
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self.postfix = ""

    def _fmt(self, n: float) -> str:
        if not self.unit_scale:
            return str(int(n))
        for suffix in ("", "k", "M", "G"):
            if abs(n) < 1000:
                return f"{n:.1f}{suffix}" if suffix else f"{int(n)}"
            n /= 1000
        return f"{n:.1f}T"

    def _draw(self, final: bool = False) -> None:
        now = time.perf_counter()
        if not final and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        elapsed = now - self.start
        if self.total:
            frac = min(self.n / self.total, 1.0)
            bar = "#" * int(frac * 30)
            text = (f"\r{self.desc}: {frac * 100:5.1f}% |{bar:<30}| {self._fmt(self.n)}/{self._fmt(self.total)}"
                    f"{self.unit} [{elapsed:.1f}s]")
        else:
            text = f"\r{self.desc}: {self._fmt(self.n)}{self.unit} [{elapsed:.1f}s]"
        if self.postfix:
            text += " " + self.postfix
        self.stream.write(text)
        self.stream.flush()

    def update(self, n: int = 1) -> None:
        self.n += n
        self._draw()

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def close(self) -> None:
        self._draw(final=True)
        self.stream.write("\n")
        self.stream.flush()


class _NoBar:
    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: Optional[int] = None, desc: str = "", unit: str = "it", unit_scale: bool = False,
                 stream: Optional[TextIO] = None, enable: Optional[bool] = None):
    """A progress bar with ``update(n)``, ``set_postfix_str(s)`` and ``close()``.

    Shown only on a terminal unless ``enable`` says otherwise; uses tqdm when installed.
    """
    stream = stream if stream is not None else sys.stderr
    if enable is None:
        enable = hasattr(stream, "isatty") and stream.isatty()
    if not enable:
        return _NoBar()
    try:
        from tqdm import tqdm  # type: ignore[import-not-found]
    except ImportError:
        return _PlainBar(total, desc, unit, stream, unit_scale)
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=stream, leave=True)
