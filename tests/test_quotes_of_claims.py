"""Text and tests cannot drift apart: every claims test quotes, word for word,
a sentence that still stands under the section label it names
(format: ``tests/claims_index.py``)."""

import pytest
from claims_index import claims, sections, squash

SECTIONS = sections()
CLAIMS = claims()


def test_there_are_claims_and_sections():
    assert len(SECTIONS) > 40
    assert len(CLAIMS) > 40


@pytest.mark.parametrize(
    ("file", "test", "label", "quote"),
    CLAIMS,
    ids=[f"{c[0].removesuffix('.py')}::{c[1]}::{c[2]}" for c in CLAIMS],
)
def test_the_quoted_sentence_stands_under_its_label(file, test, label, quote):
    assert label, f"{file}::{test} quotes no sentence: its docstring needs [label] and > lines"
    assert label in SECTIONS, f"{file}::{test} names {label!r}, which is no section label"
    page, text = SECTIONS[label]
    assert quote in squash(text), (
        f"{file}::{test}: the sentence it quotes is not under {label!r} in {page}:\n  {quote}"
    )


def test_a_quote_is_checked_word_for_word():
    """The check itself can fail: a changed word is not found."""
    _, text = SECTIONS["sec-num-blocks"]
    words = squash(text).split()
    assert " ".join(words[3:12]) in squash(text)
    assert " ".join(words[3:12]) + " xyzzy" not in squash(text)
