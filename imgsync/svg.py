"""SVG: knowing one by its root element, and refusing one that could run script or load entities.

An SVG served from the image host's domain runs its scripts there (a stored script on the
host's domain), so one from a pull request is read before it goes up. It is parsed with
the standard library's expat, fed in chunks: memory stays flat, a DOCTYPE with an internal
subset is refused the moment it begins (before any declaration in it is read, so no entity
is ever defined, let alone expanded), and with no handler for external entities and
parameter-entity parsing off, expat never loads a DTD or an entity. xml.etree is not used:
it expands internal entities, which is the billion-laughs attack.
"""

from __future__ import annotations

import re

from .environment import ALLOW_SCRIPTS_VARIABLE
from .errors import ImageError

MIME = "image/svg+xml"

# What may come before the root element: XML whitespace, the XML declaration and other
# processing instructions, comments, and a DOCTYPE naming svg (its content is judged later).
_PROLOG_ITEM = re.compile(
    rb"[ \t\r\n]+|<!--.*?-->|<\?.*?\?>|<!DOCTYPE[ \t\r\n]+svg\b[^\[>]*(?:\[.*?\][ \t\r\n]*)?>",
    re.DOTALL,
)
_ROOT = re.compile(rb"<svg[ \t\r\n/>]")
# Elements that run script, or embed a document that could (inside <foreignObject>).
_SCRIPT_ELEMENTS = frozenset({"script", "handler", "iframe", "frame", "embed", "object", "applet"})
# What browsers drop from a URL before reading its scheme: C0 controls and spaces anywhere.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
# The public identifiers of the W3C's own SVG DTDs: a DOCTYPE naming one is what drawing
# programs write, and browsers never fetch it. Any other external DTD is refused.
_W3C_DTDS = frozenset(
    {
        "-//W3C//DTD SVG 1.0//EN",
        "-//W3C//DTD SVG 1.1//EN",
        "-//W3C//DTD SVG 1.1 Basic//EN",
        "-//W3C//DTD SVG 1.1 Tiny//EN",
    }
)


def has_svg_root(head: bytes) -> bool:
    """Whether `head` (a file's first bytes) is an SVG document: its root element is <svg>,
    after an optional BOM, XML declaration, comments, processing instructions and DOCTYPE."""
    position = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while match := _PROLOG_ITEM.match(head, position):
        position = match.end()
    return _ROOT.match(head, position) is not None


class _Refused(Exception):
    """Raised from a parser handler to stop at the first reason to refuse the file."""


class SvgCheck:
    """An SVG's bytes, fed in order, judged: `feed` raises ImageError at the first thing that
    could run script (unless `allow_scripts`) or declare or load an entity (always)."""

    def __init__(self, *, allow_scripts: bool = False) -> None:
        from xml.parsers import expat  # pyexpat: only for a run that meets an SVG

        self._allow_scripts = allow_scripts
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._entity
        parser.ExternalEntityRefHandler = self._external_entity
        parser.SkippedEntityHandler = self._skipped_entity
        parser.ProcessingInstructionHandler = self._instruction
        parser.StartElementHandler = self._element
        self._parser = parser
        self._malformed: type[Exception] = expat.ExpatError

    def feed(self, data: bytes, *, final: bool = False) -> None:
        try:
            self._parser.Parse(data, final)
        except _Refused as refused:
            raise ImageError(f"refused: the SVG {refused}") from None
        except self._malformed as error:
            raise ImageError(f"is not a well-formed SVG ({error})") from None

    def _script(self, what: str) -> None:
        if not self._allow_scripts:
            raise _Refused(
                f"{what}, which would run on the host's domain; "
                f"{ALLOW_SCRIPTS_VARIABLE}=1 in the environment allows scriptable SVGs"
            )

    def _doctype(
        self, name: str, system_id: str | None, public_id: str | None, has_internal_subset: int
    ) -> None:
        if has_internal_subset:
            raise _Refused("has a DOCTYPE with an internal subset (entity declarations)")
        if system_id is not None and public_id not in _W3C_DTDS:
            raise _Refused("refers to an external DTD")

    def _entity(self, *_args: object) -> None:
        raise _Refused("declares an entity")

    def _external_entity(self, *_args: object) -> int:
        raise _Refused("refers to an external entity")

    def _skipped_entity(self, name: str, _is_parameter: int) -> None:
        raise _Refused(f"uses the entity &{name}; that it does not define")

    def _instruction(self, target: str, _data: str) -> None:
        if target.lower() == "xml-stylesheet":  # an XSLT stylesheet can write script
            self._script("has an xml-stylesheet instruction")

    def _element(self, name: str, attributes: dict[str, str]) -> None:
        local = name.rpartition(" ")[2].lower()
        if local in _SCRIPT_ELEMENTS:
            self._script(f"has a <{local}> element")
        for attribute, value in attributes.items():
            shown = attribute.rpartition(" ")[2]
            if shown.lower().startswith("on"):
                self._script(f"has an event-handler attribute ({shown}= on <{local}>)")
            # Values arrive with character references decoded (&#106;avascript:);
            # animations (<set to=...>) and lists (values="a;javascript:...") count too.
            url = _URL_NOISE.sub("", value).lower()
            if "javascript:" in url or "vbscript:" in url:
                self._script(f"has a javascript: link ({shown}= on <{local}>)")
