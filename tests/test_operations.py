"""Stored operations and the fragments they share (server/operations.py)."""

from __future__ import annotations

import pytest

from server.operations import FRAGMENTS, ROOT, load


def write(folder, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_an_operation_gets_the_fragments_it_spreads_and_theirs(tmp_path):
    write(tmp_path / "fragments", "shared.graphql", "fragment Who on Query { viewer { kind ...Where } }\n"
                                                     "fragment Where on Viewer { accountId livemode }\n"
                                                     "fragment Unused on Query { roles { role } }")
    write(tmp_path / "operations", "ShellPage.graphql", "query ShellPage { ...Who account { id } }")
    text = load(tmp_path / "operations", tmp_path / "fragments")["ShellPage"]
    assert text.startswith("query ShellPage { ...Who account { id } }")
    assert "fragment Who on Query" in text and "fragment Where on Viewer" in text and "Unused" not in text


@pytest.mark.parametrize(("fragments", "operation", "refusal"), [
    ("", "query P { ...Nowhere }", "Unknown fragment 'Nowhere'"),
    ("query Q { roles { role } }", "query P { roles { role } }", "holds fragments only"),
    ("fragment F on Query { roles { role } }\nfragment F on Query { roles { role } }", "query P { ...F }",
     "a second fragment named F"),
    ("fragment F on Query { nope }", "query P { ...F }", "Cannot query field 'nope'"),
])
def test_a_broken_fragment_or_spread_is_refused_at_load(tmp_path, fragments, operation, refusal):
    if fragments:
        write(tmp_path / "fragments", "shared.graphql", fragments)
    write(tmp_path / "operations", "P.graphql", operation)
    with pytest.raises(RuntimeError, match=refusal):
        load(tmp_path / "operations", tmp_path / "fragments")


def test_pages_take_the_shell_from_the_layout_fragment():
    assert "fragment Layout on Query" in (FRAGMENTS / "Layout.graphql").read_text()
    by_hand = [p.relative_to(ROOT).as_posix() for p in sorted(ROOT.rglob("*.graphql")) if "viewer {" in p.read_text()]
    assert not by_hand, f"spread ...Layout instead of selecting the viewer by hand: {by_hand}"
