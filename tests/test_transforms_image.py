import numpy as np
import pytest

from zerograd.transforms import CenterCrop, Compose, Convert, RandomHorizontalFlip, Resize, ToArray, ToPIL


def test_array_flip_uses_one_draw_per_item():
    x = np.arange(6).reshape(1, 2, 3)
    np.random.seed(0)
    flipped = RandomHorizontalFlip(p=1.0)(x)
    assert np.array_equal(flipped[0, 0], [2, 1, 0])
    assert RandomHorizontalFlip(p=0.0)(x) is x


def test_image_transforms_with_pillow():
    pytest.importorskip("PIL")
    img = ToPIL()(np.arange(3 * 8 * 10, dtype=np.uint8).reshape(3, 8, 10) % 255)
    assert img.size == (10, 8)
    pipeline = Compose([Convert("L"), Resize((6, 4)), CenterCrop(4), ToArray()])
    out = pipeline(img)
    assert out.shape == (1, 4, 4) and out.dtype == np.float32


def test_pillow_missing_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no PIL")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="pip install Pillow"):
        ToPIL()(np.zeros((1, 2, 2), dtype=np.uint8))
