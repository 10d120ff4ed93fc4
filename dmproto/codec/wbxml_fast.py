"""The hot path for WBXML messages: a lean token loop into an ``xml.etree`` tree.

:func:`read_tree` reads only the regular shape every DM encoder writes (WAP-192-WBXML;
OMA-TS-SyncML_RepPro-V1_2 WBXML): plain tag tokens of code pages 0–2, SWITCH_PAGE, END, and at
most one STR_I run per element. Anything else raises :class:`~.reading.Irregular`: other
text tokens (STR_T, OPAQUE, ENTITY, a second run), attribute lists, LITERAL tags, PIs,
extension tokens, and every error and every limit. It never raises
:class:`~dmproto.errors.MalformedMessageError`: the caller reads a refused input again with
:func:`.wbxml.parse_wbxml`, which keeps byte positions and reports the one documented error
(reason and position) for whatever is wrong, so the error a caller sees never depends on which
path ran. The loop checks nothing less than ``parse_wbxml``, and where it is stricter (nesting
near ``max_depth``, anything after the root) the positioned parser decides.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element as TreeElement
from xml.etree.ElementTree import SubElement as sub_element

from ..limits import Limits
from .element import CodePage
from .reading import Irregular
from .tokens import TAG_CONTENT, TAG_NAMES, GlobalToken

__all__ = ["PLAIN_TAGS", "read_tree"]

#: Per code page, token byte -> local tag name, or ``None``: the tag tokens without the
#: attribute bit, with and without content (WAP-192-WBXML: bit 6 content, bit 7 attributes),
#: from the same table as :data:`.wbxml._TAGS`. No global token shares a byte with these (all
#: tag identities are at least FIRST_TAG_ID), so a hit is always a tag of the current page.
PLAIN_TAGS: tuple[tuple[str | None, ...], ...] = tuple(
    tuple(TAG_NAMES[page].get(token & ~TAG_CONTENT) for token in range(256)) for page in CodePage
)

_END = int(GlobalToken.END)
_STR_I = int(GlobalToken.STR_I)
_SWITCH_PAGE = int(GlobalToken.SWITCH_PAGE)


def read_tree(data: bytes, pos: int, codec: str, limits: Limits, text_budget: int) -> TreeElement:
    """Read the body of ``data`` from ``pos`` (after the header) into an ``xml.etree`` tree:
    tags are local names, an element's text is its one STR_I run.

    ``codec`` is the header's charset; ``text_budget`` the decoded text the document may hold
    (:meth:`.wbxml._Parser.charge`).

    Raises:
        Irregular: for every input that is not the regular shape (module docstring), and for
            every error or limit: truncation, an unknown page, a tag unknown on its page, an
            unbalanced END, a missing NUL, text invalid in ``codec``, data after the root,
            ``max_elements``, ``max_depth``, ``max_data_size``, the text budget.
    """
    # Each STR_I run is bytes of the input, so the runs together never exceed the rest of it:
    # the document's text budget holds if the input fits it (WAP-192-WBXML; OMA-TS-DM_TND-V1_2
    # §8.3.7.2; CONTRIBUTING.md#limits-before-work).
    end = len(data)
    if end - pos > text_budget:
        raise Irregular
    max_elements, max_depth, max_data = limits.max_elements, limits.max_depth, limits.max_data_size
    content, end_token, str_i = TAG_CONTENT, _END, _STR_I  # locals: the loop's hottest names
    # OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6: every document starts on page 0
    names = PLAIN_TAGS[0]
    try:  # data[pos] past the end (truncation) raises IndexError
        token = data[pos]
        name = names[token]
        if name is None or not token & content or max_depth <= 1:
            raise Irregular  # not a page-0 root with content, or nesting at the limit
        parent = root = TreeElement(name)
        stack = [root]  # open elements
        count = 1
        pos += 1
        while True:
            token = data[pos]
            pos += 1
            if token == end_token:
                stack.pop()
                if not stack:
                    break
                parent = stack[-1]
                continue
            name = names[token]
            if name is not None:
                count += 1
                if count > max_elements:
                    raise Irregular
                element = sub_element(parent, name)
                if token & content:
                    stack.append(element)
                    # Stricter than parse_wbxml (its limit is on each element's depth): no
                    # element is ever opened at max_depth, so none is created deeper.
                    if len(stack) >= max_depth:
                        raise Irregular
                    parent = element
            elif token == str_i:
                nul = data.find(b"\x00", pos)
                # One run per element: joining several here would be quadratic. A run longer
                # than max_data_size (bytes, before decoding, as charge() checks it) or with
                # no NUL is parse_wbxml's to report.
                if nul < 0 or nul - pos > max_data or parent.text is not None:
                    raise Irregular
                parent.text = data[pos:nul].decode(codec)
                pos = nul + 1
            elif token == _SWITCH_PAGE:
                # OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6: pages 0 SyncML,
                # 1 MetInf, 2 DM DDF.
                page = data[pos]
                pos += 1
                if page >= len(PLAIN_TAGS):
                    raise Irregular
                names = PLAIN_TAGS[page]
            else:
                raise Irregular
    except (IndexError, UnicodeDecodeError):
        raise Irregular from None
    if pos != end:  # PIs, white space or garbage after the root: parse_wbxml's trailer()
        raise Irregular
    return root
