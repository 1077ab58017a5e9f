"""Character-level text: Tiny Shakespeare."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from zerograd.datasets.base import Dataset
from zerograd.cache import RemoteFile, fetch

SHAKESPEARE_FILE = "input.txt"
SHAKESPEARE_CHECKSUM = "sha256:86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_MIRRORS = ["https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"]


class Shakespeare(Dataset):
    """Tiny Shakespeare as character ids: ``data[i]`` is a character, ``label[i]`` the next one.

    ``char_to_id`` and ``id_to_char`` map between characters and ids (the sorted set of
    characters in the text). The whole text is one sequence (``train`` makes no difference):
    use :class:`~zerograd.dataloaders.SeqDataLoader` for truncated BPTT.
    """

    cache_name = "shakespeare"

    def __init__(self, train: bool = True, transform: Optional[Callable[[Any], Any]] = None,
                 target_transform: Optional[Callable[[Any], Any]] = None, download: bool = True) -> None:
        self.download = download
        super().__init__(train, transform, target_transform)

    def prepare(self) -> None:
        remote = RemoteFile(SHAKESPEARE_FILE, SHAKESPEARE_CHECKSUM,
                            tuple(m + SHAKESPEARE_FILE for m in SHAKESPEARE_MIRRORS))
        path = fetch(self.cache_name, [remote], download=self.download)[SHAKESPEARE_FILE]
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        chars = sorted(set(text))
        self.char_to_id = {c: i for i, c in enumerate(chars)}
        self.id_to_char = dict(enumerate(chars))
        ids = np.array([self.char_to_id[c] for c in text], dtype=np.int64)
        self.data = ids[:-1]
        self.label = ids[1:]

    def decode(self, ids: Any) -> str:
        return "".join(self.id_to_char[int(i)] for i in np.asarray(ids).reshape(-1))
