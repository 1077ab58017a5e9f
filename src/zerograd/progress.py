"""Progress bars: tqdm when it is installed, a plain one otherwise, silent off a terminal.

Every bar has ``update(n)``, ``set_description(s)``, ``set_postfix_str(s)``, ``clear()``,
``refresh()`` and ``close()``. A bar made with ``leave=False`` erases itself when closed, so a
finished bar leaves nothing behind; print other lines between ``clear()`` and ``refresh()``.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO


def _clock(seconds: float) -> str:
    """``MM:SS`` (or ``H:MM:SS``), as tqdm shows times."""
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class _PlainBar:
    """A text progress bar redrawn on one line: percentage, bar, count, elapsed<left, rate."""

    def __init__(self, total: Optional[int], desc: str, unit: str, stream: TextIO, unit_scale: bool,
                 leave: bool = True) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.stream = stream
        self.unit_scale = unit_scale
        self.leave = leave
        self.n = 0
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._width = 0
        self.postfix = ""

    def _fmt(self, n: float) -> str:
        if not self.unit_scale:
            return str(int(n))
        for suffix in ("", "k", "M", "G"):
            if abs(n) < 1000:
                return f"{n:.1f}{suffix}" if suffix else f"{int(n)}"
            n /= 1000
        return f"{n:.1f}T"

    def text(self) -> str:
        """The line as drawn now."""
        elapsed = time.perf_counter() - self.start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        speed = f"{self._fmt(rate) if self.unit_scale else f'{rate:.1f}'}{self.unit}/s"
        if self.total:
            frac = min(self.n / self.total, 1.0)
            left = _clock((self.total - self.n) / rate) if rate > 0 else "?"
            text = (f"{self.desc}: {frac * 100:3.0f}%|{'#' * int(frac * 20):<20}| {self._fmt(self.n)}/"
                    f"{self._fmt(self.total)} [{_clock(elapsed)}<{left}, {speed}]")
        else:
            text = f"{self.desc}: {self._fmt(self.n)}{self.unit} [{_clock(elapsed)}, {speed}]"
        return text + (" " + self.postfix if self.postfix else "")

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        text = self.text()
        self.stream.write("\r" + text + " " * max(0, self._width - len(text)))
        self._width = len(text)
        self.stream.flush()

    def update(self, n: int = 1) -> None:
        self.n += n
        self._draw()

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def refresh(self) -> None:
        self._draw(force=True)

    def close(self) -> None:
        if self.leave:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
        else:
            self.clear()


class _NoBar:
    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_description(self, desc: str) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def clear(self) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: Optional[int] = None, desc: str = "", unit: str = "it", unit_scale: bool = False,
                 stream: Optional[TextIO] = None, enable: Optional[bool] = None, leave: bool = True) -> Any:
    """A progress bar (see the module's docstring), shown only on a terminal unless ``enable``
    says otherwise; tqdm's when tqdm is installed."""
    stream = stream if stream is not None else sys.stderr
    if enable is None:
        enable = hasattr(stream, "isatty") and stream.isatty()
    if not enable:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainBar(total, desc, unit, stream, unit_scale, leave)
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=stream, leave=leave)
