"""SVG sniffing by the root element, and the refusal of SVGs that could run script or entities."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgsync.errors import ImageError
from imgsync.images import inspect_image, sniff_image_type
from imgsync.svg import SvgCheck, has_svg_root

NS = 'xmlns="http://www.w3.org/2000/svg"'
XLINK = 'xmlns:xlink="http://www.w3.org/1999/xlink"'
W3C_DOCTYPE = (
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
)


@pytest.mark.parametrize(
    "head",
    [
        f"<svg {NS}/>",
        f"\ufeff  <svg {NS}></svg>",
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by hand -->\n<svg {NS}>',
        f'<?xml version="1.0"?>{W3C_DOCTYPE}\n<svg {NS} width="1">',
        f"<!-- a > b --><?xml-stylesheet href='a.css'?>\n<svg\n{NS}>",
    ],
)
def test_an_svg_is_known_by_its_root_element(head: str) -> None:
    assert has_svg_root(head.encode())
    assert sniff_image_type(head.encode()) == (".svg", "image/svg+xml")


@pytest.mark.parametrize(
    "head",
    [
        "<!-- <svg -->\n<html><body>hi</body></html>",  # <svg only inside a comment
        "<!--\n<html><script>alert(1)</script><svg></svg>",  # an unclosed comment
        "<html><svg></svg></html>",  # an SVG inside another document
        "<?xml version='1.0'?><svgx/>",
        "<SVG/>",  # XML names are case-sensitive
        "text <svg/>",
        "",
    ],
)
def test_svg_somewhere_in_the_first_bytes_is_not_an_svg(head: str) -> None:
    assert not has_svg_root(head.encode())
    assert sniff_image_type(head.encode()) is None


def _judge(svg: str, *, allow_scripts: bool = False, chunk: int = 7) -> None:
    check = SvgCheck(allow_scripts=allow_scripts)
    data = svg.encode()
    for start in range(0, len(data), chunk):  # fed in pieces, as a file is read
        check.feed(data[start : start + chunk])
    check.feed(b"", final=True)


@pytest.mark.parametrize(
    "svg",
    [
        f'<svg {NS} {XLINK}><a xlink:href="https://example.com/"><rect width="1"/></a></svg>',
        f'<?xml version="1.0"?>{W3C_DOCTYPE}<svg {NS}><text>&amp; &#65;</text></svg>',
        f'<svg {NS}><style>rect {{ fill: red }}</style><image href="a.png"/></svg>',
        f'<svg {NS}><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div>'
        "</foreignObject></svg>",
        f'<svg {NS} opacity="0.5" offset="1" orient="auto"/>',  # attributes that begin with o
    ],
)
def test_an_ordinary_svg_passes(svg: str) -> None:
    _judge(svg)


@pytest.mark.parametrize(
    ("svg", "reason"),
    [
        (f"<svg {NS}><script>alert(1)</script></svg>", "has a <script> element"),
        (
            f'<svg {NS}><foreignObject><script xmlns="http://www.w3.org/1999/xhtml">'
            "alert(1)</script></foreignObject></svg>",
            "has a <script> element",
        ),
        (f'<svg {NS} onload="alert(1)"/>', "event-handler attribute (onload= on <svg>)"),
        (f'<svg {NS}><rect ONCLICK="x()"/></svg>', "event-handler attribute (ONCLICK="),
        (f'<svg {NS}><a href="javascript:alert(1)">x</a></svg>', "javascript: link (href="),
        (
            f'<svg {NS} {XLINK}><a xlink:href=" &#106;ava&#x09;script&#58;alert(1)">x</a></svg>',
            "javascript: link (href=",
        ),
        (
            f'<svg {NS}><a><set attributeName="href" to="JaVaScRiPt:alert(1)"/></a></svg>',
            "javascript: link (to=",
        ),
        (
            f'<svg {NS}><animate attributeName="href" values="#a;javascript:x()"/></svg>',
            "javascript: link (values=",
        ),
        (
            f'<svg {NS}><foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" '
            'srcdoc="x"/></foreignObject></svg>',
            "has a <iframe> element",
        ),
        (
            f'<?xml-stylesheet type="text/xsl" href="x.xsl"?><svg {NS}/>',
            "has an xml-stylesheet instruction",
        ),
    ],
)
def test_a_scriptable_svg_is_refused_unless_allowed(svg: str, reason: str) -> None:
    with pytest.raises(ImageError) as caught:
        _judge(svg)
    assert caught.value.reason.startswith("refused: the SVG ")
    assert reason in caught.value.reason
    assert "IMGSYNC_ALLOW_SVG_SCRIPTS=1 in the environment" in caught.value.reason
    _judge(svg, allow_scripts=True)


@pytest.mark.parametrize(
    ("svg", "reason"),
    [
        (
            '<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            f"<svg {NS}><text>&xxe;</text></svg>",
            "has a DOCTYPE with an internal subset",
        ),
        (
            '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            f"<svg {NS}><text>&b;</text></svg>",
            "has a DOCTYPE with an internal subset",
        ),
        (
            f'<!DOCTYPE svg SYSTEM "http://attacker.test/x.dtd"><svg {NS}/>',
            "refers to an external DTD",
        ),
        (
            f'<!DOCTYPE svg PUBLIC "-//EVIL//X" "http://attacker.test/x.dtd"><svg {NS}/>',
            "refers to an external DTD",
        ),
        (f"{W3C_DOCTYPE}<svg {NS}><text>&nbsp;</text></svg>", "uses the entity &nbsp;"),
    ],
)
def test_entities_and_external_dtds_are_always_refused(svg: str, reason: str) -> None:
    for allow in (False, True):
        with pytest.raises(ImageError) as caught:
            _judge(svg, allow_scripts=allow)
        assert reason in caught.value.reason


def test_a_broken_svg_is_refused_with_where_it_breaks() -> None:
    with pytest.raises(ImageError) as caught:
        _judge(f"<svg {NS}><g></svg>")
    assert caught.value.reason.startswith("is not a well-formed SVG (mismatched tag: line 1")


def test_a_script_past_the_first_read_is_found(tmp_path: Path) -> None:
    padding = "<!--" + "x" * (3 << 20) + "-->"
    path = tmp_path / "big.svg"
    path.write_text(f"<svg {NS}>{padding}<script>alert(1)</script></svg>")

    with pytest.raises(ImageError, match="has a <script> element"):
        inspect_image(path, None)
    assert inspect_image(path, None, allow_svg_scripts=True).mime == "image/svg+xml"
