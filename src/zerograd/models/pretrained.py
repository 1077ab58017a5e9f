"""Pretrained weights through the checksummed cache (``<cache>/models/<model>/<file>``)."""
from __future__ import annotations

from typing import Optional

from zerograd.cache import RemoteFile, fetch


def load_pretrained(model, model_name: str, file_name: str, url: str, checksum: Optional[str]) -> None:
    """Fetch ``file_name`` (verified against ``checksum``) into the cache and load it into ``model``.

    The DeZero model archives publish no checksum; pass the one you verified yourself
    (``checksum='sha256:<hex>'``). Without one the error says what to do, and nothing is
    downloaded or loaded unverified.
    """
    paths = fetch(model_name, [RemoteFile(file_name, checksum, (url,))], kind="models")
    model.load_weights(paths[file_name])
