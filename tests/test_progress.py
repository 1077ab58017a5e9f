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
    assert "epoch 1:" in text and "50%" in text and "loss 0.5" in text and text.endswith("\n")


def test_enabled_bar_works_with_or_without_tqdm():
    stream = io.StringIO()
    bar = progress_bar(5, desc="d", stream=stream, enable=True)
    for _ in range(5):
        bar.update(1)
    bar.close()
    assert "d" in stream.getvalue()


def test_plain_bar_shows_rate_and_time_left():
    import time
    stream = io.StringIO()
    bar = _PlainBar(100, "epoch 2/5", "batch", stream, unit_scale=False)
    time.sleep(0.01)
    bar.update(50)
    text = bar.text()
    assert "50%" in text and "50/100" in text and "batch/s" in text and "00:00<" in text


def test_a_bar_that_does_not_stay_erases_itself():
    stream = io.StringIO()
    bar = _PlainBar(10, "run", "it", stream, unit_scale=False, leave=False)
    bar.update(10)
    bar.refresh()
    bar.close()
    assert not stream.getvalue().endswith("\n") and stream.getvalue().endswith("\r")
    assert stream.getvalue().rsplit("\r", 2)[-2].strip() == ""   # the last thing drawn is blanks


def test_lines_between_clear_and_refresh_are_not_mixed_with_the_bar():
    import re
    stream = io.StringIO()
    bar = _PlainBar(10, "run", "it", stream, unit_scale=False, leave=False)
    bar.update(5)
    bar.refresh()
    bar.clear()
    stream.write("epoch 1: loss 0.5\n")
    bar.refresh()
    assert re.search(r"\r +\repoch 1: loss 0.5\n\rrun:", stream.getvalue())
