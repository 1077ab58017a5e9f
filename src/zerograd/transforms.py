"""Transforms applied to dataset items: ``Compose``, ``Normalize``, ``Flatten``, ``AsType``
(``ToFloat``, ``ToInt``), and image transforms through Pillow (imported only when used).

Array transforms also work on a whole batch at once (``transform.batch(items)``), which is
how loaders build batches without a Python loop over items.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np


def apply_batch(transform: Callable[[Any], Any], items: np.ndarray) -> np.ndarray:
    """Apply ``transform`` to a batch (axis 0): at once if it supports batches, else item by item."""
    batch = getattr(transform, "batch", None)
    if batch is not None:
        return batch(items)
    return np.stack([np.asarray(transform(item)) for item in items]) if len(items) else np.asarray(items)


class Transform:
    """Base class: ``__call__(item)``; ``batch(items)`` defaults to a loop over items."""

    def __call__(self, item: Any) -> Any:
        raise NotImplementedError

    def batch(self, items: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(self(item)) for item in items]) if len(items) else items

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply several transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]] = ()) -> None:
        self.transforms = list(transforms)

    def __call__(self, item: Any) -> Any:
        for t in self.transforms:
            item = t(item)
        return item

    def batch(self, items: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            items = apply_batch(t, items)
        return items


class Normalize(Transform):
    """(x - mean) / std; mean and std are numbers or per-channel sequences (channel axis first)."""

    def __init__(self, mean: Any = 0, std: Any = 1) -> None:
        self.mean = mean
        self.std = std

    def _stats(self, ndim: int):
        mean, std = self.mean, self.std
        if not np.isscalar(mean):
            mean = np.asarray(mean).reshape((-1,) + (1,) * (ndim - 1))
        if not np.isscalar(std):
            std = np.asarray(std).reshape((-1,) + (1,) * (ndim - 1))
        return mean, std

    def __call__(self, x: np.ndarray) -> np.ndarray:
        mean, std = self._stats(np.ndim(x))
        return (x - mean) / std

    def batch(self, items: np.ndarray) -> np.ndarray:
        mean, std = self._stats(items.ndim - 1)
        return (items - mean) / std


class Flatten(Transform):
    """An item becomes 1-D (a batch keeps its first axis)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x).flatten()

    def batch(self, items: np.ndarray) -> np.ndarray:
        return items.reshape(len(items), -1)


class AsType(Transform):
    """Cast to ``dtype``."""

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = np.dtype(dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x).astype(self.dtype)

    def batch(self, items: np.ndarray) -> np.ndarray:
        return items.astype(self.dtype)


class ToFloat(AsType):
    """Cast to float32 (or the given float dtype)."""

    def __init__(self, dtype: Any = np.float32) -> None:
        super().__init__(dtype)


class ToInt(AsType):
    """Cast to int64 (or the given integer dtype)."""

    def __init__(self, dtype: Any = np.int64) -> None:
        super().__init__(dtype)


# ------------------------------------------------------------ image (Pillow)
def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("image transforms need Pillow: pip install Pillow (or pip install 'zerograd[image]')") \
            from None
    return Image


class Convert(Transform):
    """Convert a PIL image to another mode ('RGB', 'L', ...)."""

    def __init__(self, mode: str = "RGB") -> None:
        self.mode = mode

    def __call__(self, img: Any) -> Any:
        return img.convert(self.mode)


class Resize(Transform):
    """Resize a PIL image to ``size`` (an int for a square, or (width, height))."""

    def __init__(self, size: Any, mode: Any = None) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.mode = mode

    def __call__(self, img: Any) -> Any:
        Image = _pil()
        return img.resize(self.size, self.mode if self.mode is not None else Image.BILINEAR)


class CenterCrop(Transform):
    """Crop the centre of a PIL image to ``size`` (an int for a square, or (width, height))."""

    def __init__(self, size: Any) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, img: Any) -> Any:
        w, h = img.size
        ow, oh = self.size
        left = (w - ow) // 2
        top = (h - oh) // 2
        return img.crop((left, top, left + ow, top + oh))


class ToArray(Transform):
    """A PIL image (or array) to a (C, H, W) array of ``dtype``."""

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = np.dtype(dtype)

    def __call__(self, img: Any) -> np.ndarray:
        if isinstance(img, np.ndarray):
            return img
        arr = np.asarray(img)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return arr.transpose(2, 0, 1).astype(self.dtype)


class ToPIL(Transform):
    """A (C, H, W) array to a PIL image."""

    def __call__(self, array: np.ndarray) -> Any:
        Image = _pil()
        data = np.asarray(array).transpose(1, 2, 0)
        if data.shape[2] == 1:
            data = data[:, :, 0]
        return Image.fromarray(data.astype(np.uint8))


class RandomHorizontalFlip(Transform):
    """Mirror a PIL image (or a (C, H, W) array) left-right with probability ``p``
    (one ``np.random.rand()`` draw per item)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        if np.random.rand() >= self.p:
            return img
        if isinstance(img, np.ndarray):
            return img[..., ::-1].copy()
        return img.transpose(_pil().FLIP_LEFT_RIGHT)

__all__ = [
    "Transform", "Compose", "Normalize", "Flatten", "AsType", "ToFloat", "ToInt", "Convert",
    "Resize", "CenterCrop", "ToArray", "ToPIL", "RandomHorizontalFlip", "apply_batch",
]
