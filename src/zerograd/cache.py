"""The checksummed file cache of datasets and pretrained weights: optional downloads, clear
offline errors. It needs the standard library alone (and the progress bar), no autodiff code.

Files live at ``<cache>/<kind>/<name>/<original file name>`` (kind ``datasets`` or
``models``), where ``<cache>`` is ``$ZEROGRAD_HOME`` (read at each use) or ``~/.zerograd``. A file already
there is used without any network access, after its checksum is verified. A missing file
is downloaded from each mirror in turn into a temporary file in the same folder, which is
renamed into place only after its checksum matches. A corrupt cached file is never parsed:
it is replaced by a good download, or reported.
"""
from __future__ import annotations

import hashlib
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Optional, Sequence

from zerograd.progress import progress_bar


class DatasetUnavailableError(RuntimeError):
    """A file of a dataset (or of pretrained weights) is neither in the cache nor obtainable
    from any mirror."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name, its published checksum and where it can be fetched."""

    name: str
    checksum: Optional[str]  # "sha256:<hex>" or "md5:<hex>"; None: no published checksum is known
    urls: Sequence[str] = field(default_factory=tuple)
    size: Optional[int] = None

    def __post_init__(self) -> None:
        check_plain_name("file name", self.name)


def check_plain_name(what: str, name: str) -> None:
    """A name that becomes one path component inside the cache: never a way out of it."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
            or os.sep in name or (os.altsep and os.altsep in name) or os.path.isabs(name) or "\0" in name):
        raise ValueError(f"{what} {name!r} must be a plain name inside the cache (no separators, '..' or"
                         " absolute paths)")


def cache_root() -> str:
    """The cache folder: ``$ZEROGRAD_HOME`` or ``~/.zerograd``."""
    return os.environ.get("ZEROGRAD_HOME") or os.path.join(os.path.expanduser("~"), ".zerograd")


def cache_dir(name: str, kind: str = "datasets") -> str:
    """``<cache>/<kind>/<name>``: datasets by default, ``models`` for pretrained weights."""
    check_plain_name("cache kind", kind)
    check_plain_name(f"{kind} name", name)
    return os.path.join(cache_root(), kind, name)


def _hasher(checksum: str):
    algo, _, digest = checksum.partition(":")
    if algo not in ("sha256", "md5") or not digest:
        raise ValueError(f"unsupported checksum {checksum!r} (expected 'sha256:<hex>' or 'md5:<hex>')")
    return hashlib.new(algo), digest.lower()


def file_checksum_ok(path: str, checksum: str) -> bool:
    h, digest = _hasher(checksum)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest() == digest


def _download(url: str, folder: str, remote: RemoteFile, timeout: float, progress: bool) -> str:
    """Fetch ``url`` into a temporary file in ``folder``; return its path once the checksum matches
    (no checksum: once the transfer is complete)."""
    h, digest = _hasher(remote.checksum or "sha256:-")
    tmp = os.path.join(folder, f".{remote.name}.part-{os.getpid()}")
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "zerograd"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else remote.size
            bar = progress_bar(expected, desc=f"downloading {remote.name}", unit="B", unit_scale=True,
                               enable=None if progress else False)
            received = 0
            try:
                while True:
                    chunk = response.read(1 << 16)
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
            if expected is not None and received != expected:
                raise IOError(f"transfer interrupted: got {received} of {expected} bytes")
        if remote.checksum is not None and h.hexdigest() != digest:
            raise IOError(f"checksum mismatch ({remote.checksum.split(':')[0]} {h.hexdigest()}, expected {digest})")
        return tmp
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable: {exc.reason}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    return str(exc) or type(exc).__name__


def _missing_folders(folder: str) -> list[str]:
    """``folder`` and its ancestors that do not exist yet, deepest first."""
    out = []
    while folder and not os.path.exists(folder):
        out.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return out


def fetch(name: str, files: Sequence[RemoteFile], download: bool = True, timeout: float = 30.0,
          progress: bool = True, kind: str = "datasets", allow_unverified: bool = False) -> dict[str, str]:
    """Make sure every file of ``name`` (a dataset, or a model with ``kind='models'``) is in the cache, verified; return their paths.

    Raises :class:`DatasetUnavailableError` naming every file that is missing (or corrupt),
    each address tried with its failure, and where to put the files by hand.
    """
    folder = cache_dir(name, kind)
    made = _missing_folders(folder)  # removed again when nothing could be fetched
    paths: dict[str, str] = {}
    problems: list[str] = []
    for remote in files:
        if remote.checksum is None and not allow_unverified:
            raise DatasetUnavailableError(
                f"{name}: no published checksum is known for {remote.name}, so zerograd will not use or "
                f"download it unverified. Get it yourself (from {', '.join(remote.urls) or 'its publisher'}), "
                f"check it, and pass its checksum ('sha256:<hex>'); it is then kept in {folder}.")
        path = os.path.join(folder, remote.name)
        corrupt = False
        if os.path.exists(path):
            if remote.checksum is None or file_checksum_ok(path, remote.checksum):
                paths[remote.name] = path
                continue
            corrupt = True
        attempts: list[str] = []
        if download and remote.urls:
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as e:
                raise DatasetUnavailableError(f"{name}: cannot create the cache folder {folder!r}: {e}") from None
            for url in remote.urls:
                try:
                    tmp = _download(url, folder, remote, timeout, progress)
                except KeyboardInterrupt:
                    raise
                except Exception as e:  # every failure is reported, the next mirror tried
                    attempts.append(f"{url} ({_reason(e)})")
                    continue
                os.replace(tmp, path)
                paths[remote.name] = path
                break
        if remote.name in paths:
            continue
        state = "is corrupt (checksum mismatch)" if corrupt else "is missing"
        tried = "; ".join(attempts) if attempts else ("downloads disabled" if not download else "no address known")
        problems.append(f"  {remote.name} {state}; tried: {tried}"
                        + (f"; expected {remote.checksum}" if remote.checksum else ""))
    if problems:
        for path in made:
            try:
                os.rmdir(path)  # only if empty
            except OSError:
                break
        raise DatasetUnavailableError(
            f"{name}: {len(problems)} file(s) unavailable:\n" + "\n".join(problems) +
            f"\nPut the original files by hand in {folder} (set ZEROGRAD_HOME to use another cache "
            f"folder); they are checked against the checksums above."
        )
    return paths
