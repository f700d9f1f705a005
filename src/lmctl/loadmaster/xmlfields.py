"""XML reply bytes → nested dicts, safely and fast.

The parser is defusedxml's (``DefusedXMLParser`` with ``forbid_dtd``): a document type
declaration, an entity declaration or an external reference raises before anything is
expanded, so an entity bomb costs nothing. The bytes go to expat as they are, so the declared
encoding (``ISO-8859-1`` on every LoadMaster) is honoured.

For speed (a ``listvs`` of 1,000 virtual services is ~150,000 elements) the element callbacks
on defusedxml's expat parser are replaced by two small functions (and a list's own ``append``
for text) that build the dicts directly, instead of an ``Element`` tree converted afterwards.
defusedxml's protective handlers stay installed. Shape of the result: a leaf element is its
stripped text; an element with children is a dict; a tag repeated among siblings becomes a
list; an element whose children are all ``<Opt>`` becomes the list of their texts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import defusedxml.ElementTree as SafeElementTree

_OPTION_TAG = "Opt"


class XmlDocument:
    """The parsed document: the root element's tag, attributes and value."""

    __slots__ = ("attributes", "tag", "value")

    def __init__(self, tag: str, attributes: dict[str, str], value: Any) -> None:
        self.tag = tag
        self.attributes = attributes
        self.value = value


class _Target:
    """The parser target defusedxml requires; the callbacks below do the building."""

    def close(self) -> None:
        """Nothing to finish: the document is complete when the root element ends."""


class _Repeated(list[Any]):
    """The values of a tag repeated among siblings (told apart from an ``<Opt>`` list)."""

    __slots__ = ()


def parse_xml_fields(body: bytes) -> XmlDocument:
    """Parse ``body``; raises ``xml.etree.ElementTree.ParseError`` or a defusedxml exception."""
    parser = SafeElementTree.XMLParser(target=_Target(), forbid_dtd=True)
    # One children dict per open element; the bottom one is the document itself.
    stack: list[dict[str, Any]] = [{}]
    # Character data since the last start tag: when an element ends without children, this is
    # exactly its text. Appending through the bound C method costs no Python call per chunk.
    text: list[str] = []
    root_attributes: list[str] = []
    expat = parser.parser
    expat.buffer_text = True
    expat.StartElementHandler, expat.EndElementHandler = _element_handlers(
        stack, text, root_attributes
    )
    expat.CharacterDataHandler = text.append
    parser.feed(body)
    parser.close()
    return _document(stack[0], root_attributes)


def _element_handlers(
    stack: list[dict[str, Any]], text: list[str], root_attributes: list[str]
) -> tuple[Callable[[str, list[str]], None], Callable[[str], None]]:
    """Expat's start and end callbacks, building the dicts on ``stack``.

    Closures over the three lists, with the value and sibling logic inline: they run once per
    element (~150,000 times per large ``listvs``), where every extra call or attribute lookup
    shows in the bench.
    """

    def start(tag: str, attributes: list[str]) -> None:
        if len(stack) == 1:
            root_attributes.extend(attributes)
        text.clear()
        stack.append({})

    def end(tag: str) -> None:
        children = stack.pop()
        if not children:
            value: Any = "".join(text).strip()
        elif len(children) == 1 and _OPTION_TAG in children:
            option = children[_OPTION_TAG]
            value = list(option) if isinstance(option, _Repeated) else [option]
        else:
            value = children
        siblings = stack[-1]
        if tag not in siblings:
            siblings[tag] = value
            return
        existing = siblings[tag]
        if type(existing) is _Repeated:
            existing.append(value)
        else:
            siblings[tag] = _Repeated((existing, value))

    return start, end


def _document(top: dict[str, Any], root_attributes: list[str]) -> XmlDocument:
    """The root element of the parsed ``top`` level, with its flat name/value attribute list."""
    (tag, value), *_ = top.items()
    pairs = iter(root_attributes)
    return XmlDocument(tag, dict(zip(pairs, pairs, strict=False)), value)
