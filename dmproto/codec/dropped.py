"""Which input elements a decode left out of the model.

The mappings read what OMA DM uses and ignore the rest: unknown elements, the DS-only
ones (Archive, SftDel, Lang, Anchor, Mem, ...), the content of SyncML commands DM does
not process (OMA-TS-DM_RepPro-V1_2_1 §4.1: a DM device ignores what it does not
support) and a second copy of a single-valued element. :func:`dropped_elements` finds
them without knowing the mapping rules: it compares the parsed input tree with the tree
the mapping writes back from the model. Pure: it never does I/O, the CLI prints the
result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from .element import Element

__all__ = ["dropped_elements"]


def _paths(element: Element, path: str) -> Iterator[str]:
    """``path`` and every descendant's ``/``-separated name path.

    A ``MetInf`` wrapper inside ``Meta`` is transparent (the decoder reads through it
    and the encoder never writes it), and ``Data`` is a leaf: its markup is kept as
    text, not as elements.
    """
    yield path
    if element.name == "Data":
        return
    for child in element.children:
        if child.name == "MetInf" and element.name == "Meta":
            for grandchild in child.children:
                yield from _paths(grandchild, f"{path}/{grandchild.name}")
        else:
            yield from _paths(child, f"{path}/{child.name}")


def dropped_elements(original: Element, rewritten: Element) -> tuple[str, ...]:
    """Paths (``SyncML/SyncBody/Sync/Target``) present in ``original`` more often than
    in ``rewritten``, sorted; each path once, and only the topmost of a dropped
    subtree. ``rewritten`` is the element tree the mapping writes for the model
    decoded from ``original``.
    """
    missing = Counter(_paths(original, original.name))
    missing.subtract(_paths(rewritten, rewritten.name))
    dropped = {path for path, count in missing.items() if count > 0}
    return tuple(sorted(path for path in dropped if not _has_ancestor_in(path, dropped)))


def _has_ancestor_in(path: str, paths: set[str]) -> bool:
    cut = path.rfind("/")
    while cut > 0:
        if path[:cut] in paths:
            return True
        cut = path.rfind("/", 0, cut)
    return False
