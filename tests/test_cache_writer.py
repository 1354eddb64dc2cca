"""The cache writer reuses an entry's text only while json.dumps would write the entry alike."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgsync.state.cache_writer import RenderedEntries, dump_document, indented

HOST = "lsky https://img.example.com/api/v1"
MD5 = "0" * 32
ENTRY: dict[str, Any] = {
    "url": "https://img.example.com/a.png",
    "handle": {"key": "k"},
    "size": 1,
    "sha256": "1" * 64,
    "uploaded_at": "2026-11-23T11:30:05Z",
    "source": "img/a.png",
}


def expected(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def document(entry: dict[str, Any]) -> dict[str, Any]:
    return {"uploads": {HOST: {MD5: entry}}, "version": 1}


@pytest.mark.parametrize(
    "values",
    [
        [1, 1.0, True, 1],  # equal in Python, three texts in JSON
        [0, 0.0, -0.0, False],
        [[1], [1.0], [True]],
        [{"n": 1}, {"n": 1.0}],
    ],
)
def test_numbers_python_finds_equal_are_written_as_json_writes_them(values: list[Any]) -> None:
    for field in ("size", "newer_field"):
        rendered = RenderedEntries()
        for value in values:
            new = document({**ENTRY, field: value})
            assert dump_document(new, rendered) == expected(new)


def test_an_entry_edited_in_place_is_written_anew() -> None:
    rendered = RenderedEntries()
    entry = dict(ENTRY)
    dump_document(document(entry), rendered)
    entry["handle"] = {"key": "other"}
    entry["url"] = "https://img.example.com/b.png"
    assert dump_document(document(entry), rendered) == expected(document(entry))


def test_an_equal_entry_read_again_keeps_its_text() -> None:
    rendered = RenderedEntries()
    first = dump_document(document(dict(ENTRY)), rendered)
    again = json.loads(first)  # what a reload from disk gives: new objects, same values
    assert dump_document(again, rendered) == first == expected(again)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(st.integers() | st.booleans() | st.none(), inner, max_size=3)
    ),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_indented_writes_what_json_dumps_writes(value: Any) -> None:
    try:
        expected = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)
    except TypeError:  # keys json can't sort (None beside a number): refused alike
        with pytest.raises(TypeError):
            indented(value)
        return
    assert indented(value) == expected


def test_indented_refuses_a_circular_value_as_json_dumps_does() -> None:
    value: dict[str, object] = {"url": "https://img.example.com/a.png"}
    value["self"] = value
    with pytest.raises(ValueError, match="Circular reference detected"):
        indented(value)
