"""The API reference (book/api.md, made by book/_ext/api_page.py): every public
function and class of convlab is listed from its docstring, and each one a reader
calls names the chapter that teaches it."""

from __future__ import annotations

import inspect
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import api_page  # noqa: E402

# the groups a reader calls: each entry's docstring must name its chapter
TAUGHT = {"convlab", "convlab.nn", "convlab.exercises", "convlab.draw"}


@pytest.mark.parametrize("group", api_page.GROUPS, ids=lambda g: g[1])
def test_every_entry_has_a_docstring_and_a_chapter(group):
    _, module, which = group
    found = api_page.entries(module, which)
    assert found, f"{module}: nothing listed"
    for name, obj in found:
        doc = inspect.getdoc(obj) or ""
        assert len(doc) > 30, f"{name} has no docstring worth the name"
        if module in TAUGHT and name != "convlab.exercises.CheckReport":
            assert api_page.chapters_of(doc), f"{name}: its docstring names no chapter"


def test_nothing_public_is_left_out():
    import convlab
    from convlab import exercises

    listed = {name for g in api_page.GROUPS for name, _ in api_page.entries(g[1], g[2])}
    for name in convlab.__all__:
        if not inspect.ismodule(getattr(convlab, name)) and callable(getattr(convlab, name)):
            assert f"convlab.{name}" in listed
    for name in exercises.__all__:
        assert f"convlab.exercises.{name}" in listed
    assert "convlab.nn.Conv2d" in listed and "convlab.draw.sliding_blocks_picture" in listed
    assert api_page.chapters_of("chapter 3, then Chapter 4 and chapter 3") == ["3", "4"]
