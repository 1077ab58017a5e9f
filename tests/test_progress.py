import io

from zerograd.progress import _NoBar, _PlainBar, progress_bar


def test_off_a_terminal_the_bar_is_silent():
    stream = io.StringIO()
    bar = progress_bar(10, desc="x", stream=stream)
    assert isinstance(bar, _NoBar)
    bar.update(3)
    bar.close()
    assert stream.getvalue() == ""


def test_plain_fallback_draws_percentages():
    stream = io.StringIO()
    bar = _PlainBar(200, "epoch 1", "B", stream, unit_scale=True)
    bar.update(100)
    bar.set_postfix_str("loss 0.5")
    bar.close()
    text = stream.getvalue()
    assert "epoch 1:" in text and "50.0%" in text and "loss 0.5" in text and text.endswith("\n")


def test_enabled_bar_works_with_or_without_tqdm():
    stream = io.StringIO()
    bar = progress_bar(5, desc="d", stream=stream, enable=True)
    for _ in range(5):
        bar.update(1)
    bar.close()
    assert "d" in stream.getvalue()
