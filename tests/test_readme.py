"""README's snippets are whole programs: each runs as a script and prints what the README says.

A ``# -> TEXT`` comment on a line means that the program's output has a line ``TEXT`` (in the
order of the comments); a ```text block right after a ```python block is its whole output.
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"```(python|text)\n(.*?)```\n", re.S)


def snippets():
    text = README.read_text()
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    for i, (kind, code, start, end) in enumerate(blocks):
        if kind != "python":
            continue
        output = None
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text" and not text[end:blocks[i + 1][2]].strip():
            output = blocks[i + 1][1]
        line = text.count("\n", 0, start) + 1
        yield pytest.param(code, output, id=f"README.md:{line}")


def test_the_readme_has_snippets():
    assert len(list(snippets())) >= 8


@pytest.mark.parametrize("code, output", list(snippets()))
def test_snippet_runs_and_prints_what_the_readme_says(code, output, tmp_path, request):
    env = dict(os.environ)
    if "MNIST(" in code:
        env["ZEROGRAD_HOME"] = str(request.getfixturevalue("mnist_home"))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    if output is not None:
        assert result.stdout == output
    expected = [m.group(1).rstrip() for m in re.finditer(r"# -> (.*)", code)]
    assert expected or output is not None, "a snippet must say what it prints"
    at = 0
    for want in expected:
        while at < len(printed) and printed[at].rstrip() != want:
            at += 1
        assert at < len(printed), f"{want!r} not printed (in order); the program printed:\n{result.stdout}"
        at += 1
