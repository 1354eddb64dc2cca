"""Local images named in forms imgsync does not host: found so that they are told, not skipped.

A Hexo tag (`{% asset_img x.png %}`, `{% img /x.png %}`), an MDX `require('./x.png')` or
`import x from './x.png'`, a Markdown image whose title was typed in curly quotes: each names
a file of the project that a sync can't host, so each is a finding with the path as written
and a reason that says how to write it instead. scan.py decides where to look (text that is
not code, raw HTML); the functions here read one candidate each (pure, no I/O).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .destinations import decode_markdown_destination, local_target, looks_like_image_path
from .jsx_tags import expression_strings, read_jsx_tag

# What the scanner's text pattern adds for these forms (named groups, one per form): a Hexo
# tag that may name an image, an MDX `require(`, and an MDX `import` at a line's start.
TEXT_FORMS = (
    r"(?-i:<(?P<component>[A-Z][\w.]*)(?=[\s/>]))|"
    r"(?P<hexo>\{%-?\s*(?:asset_img|asset_path|asset_link|img)\s)"
    r"|(?P<require>\brequire\(\s*[\"'`])"
    r"|(?P<mdx_import>(?:^|(?<=\n))[ \t]*import\s)"
)
# The same, for the cheap test that a text holds nothing to read (scan.may_contain_references).
MAYBE = r"\{%-?\s*(?:asset_|img\s)|\brequire\(|(?:^|\n)[ \t]*import\s|(?-i:<[A-Z])"

_REQUIRE = re.compile(r"\brequire\(\s*(?P<quote>[\"'`])(?P<path>[^\"'`\n]+)(?P=quote)\s*\)")
_IMPORT = re.compile(
    r"[ \t]*import\s+[^\n;]*?\bfrom\s+(?P<quote>[\"'])(?P<path>[^\"'\n]+)(?P=quote)"
)
# The parameters of a shortcode other than `figure` that name an image, by their names.
_IMAGE_PARAMS = frozenset(
    {"src", "image", "img", "poster", "cover", "thumbnail", "thumb", "photo", "picture", "file"}
)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_IN_HTML = re.compile(
    r"(?P<hexo>\{%-?\s*(?:asset_img|asset_path|asset_link|img)\s)|\brequire\(\s*[\"'`]"
    r"|<(?P<component>[A-Z][\w.]*)(?=[\s/>])"
)
_HTML_IMAGE_TAGS = frozenset({"img", "a", "source", "video"})  # html_tags.py reads them
_REQUIRE_BEFORE = re.compile(r"\brequire\(\s*$")
_HEXO_END = re.compile(r"-?%\}")
_HEXO_NAME = re.compile(r"\{%-?\s*(?P<tag>\w+)")
_HEXO_ARG = re.compile(r"\"(?P<double>[^\"]*)\"|'(?P<single>[^']*)'|(?P<bare>\S+)")
# An opening curly quote (double or single), as smart quotes type it, written as escapes.
_CURLY_OPENERS = "\u201c\u2018\u201e\u00ab"
_CURLY_CLOSERS = "\u201d\u2019\u201c\u00bb"
# Where a Hexo asset's fix names the post's asset folder: the scan (pure) doesn't know the
# post's name; the pipeline puts it in (`with_post_name`).
POST_FOLDER = "<post-name>/"
_ACCEPT = "or accept it as it is with `<!-- imgsync-ignore -->` before it"
# MDX has no HTML comments: an `ignore` entry is the way to accept one there.
_ACCEPT_MDX = "or accept it as it is with an `ignore` entry in the config"


class Finding(NamedTuple):
    """A local image at `at` (an offset of the text read) that is not hosted, and why."""

    at: int
    image: str  # the path as written
    reason: str


def hexo_tag(text: str, start: int) -> tuple[Finding | None, int]:
    """The Hexo tag at `text[start]` (`{% ... %}`, on one line): a finding when it names a
    local image; and where the tag ends (the line's end when it doesn't)."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    close = _HEXO_END.search(text, start + 2, line_end)
    if close is None:
        return None, line_end
    name = _HEXO_NAME.match(text, start)
    assert name is not None  # TEXT_FORMS found it here
    tag = name.group("tag")
    args = [
        arg.group("double") or arg.group("single") or arg.group("bare") or ""
        for arg in _HEXO_ARG.finditer(text, name.end(), close.start())
    ]
    image = next((arg for arg in args if _is_local_image(arg)), None)
    if image is None:
        return None, close.end()
    if tag == "img":
        reason = (
            f"Hexo's `{{% img %}}` tag is not read by imgsync, so {image!r} is not hosted: "
            f"write it as a Markdown image, `![]({_shown(image)})`, {_ACCEPT}"
        )
    else:
        reason = (
            f"Hexo's `{{% {tag} %}}` tag names {image!r} in the post's asset folder (the "
            "folder named after the post), which imgsync does not read, so it is not "
            f"hosted: write it as a Markdown image with its path from this file, such as "
            f"`![]({POST_FOLDER}{image})`, {_ACCEPT}"
        )
    return Finding(start, image, reason), close.end()


def other_shortcode(
    text: str, code: str, params: list[tuple[str, int, int, str]], start: int
) -> Finding | None:
    """A Hugo shortcode other than `figure` (a theme's `img`, `image`, ...), with its named
    `params` as scan.shortcode_params reads them: a finding when an image parameter names a
    local image. How a theme's shortcode finds its file (the page's folder, `assets/`, ...)
    is the theme's own, so its value is never rewritten: told, and accepted or moved to
    `figure`."""
    for name, begin, end, _ in params:
        value = text[begin:end]
        if name.lower() in _IMAGE_PARAMS and _is_local_image(value):
            reason = (
                f"the `{code}` shortcode names {value!r} ({name}=), which is not hosted: "
                "imgsync hosts the values of Hugo's own `figure` only, as how another "
                "shortcode finds its file is its theme's own; write it as a figure, "
                f'`{{{{< figure src="{value}" >}}}}`, or accept it with an `ignore` entry or '
                "`<!-- imgsync-ignore -->` before it"
            )
            return Finding(start, value, reason)
    return None


def component_tag(text: str, start: int, name: str) -> tuple[list[Finding], int]:
    """The JSX component tag `<Name ...>` at `text[start]` (MDX: a site's own component, such
    as Docusaurus's `<ThemedImage sources={{ light: '/img/a.png' }} />`): a finding for each
    local image it names, in a string attribute or a string of an expression, since how a
    component reads its paths is its own; and where the tag ends (`start` + 1 if it doesn't).
    `<IMG>`, `<A>`, `<Source>`, `<Video>` are HTML's, whose case HTML ignores: read as HTML."""
    if name.lower() in _HTML_IMAGE_TAGS:
        return [], start + 1
    tag = read_jsx_tag(text, start + 1 + len(name))
    if tag is None:
        return [], start + 1
    values = [(begin, end, f"{attribute}=") for attribute, begin, end, _ in tag.strings]
    for begin, end in tag.expressions:
        for string_begin, string_end in expression_strings(text, begin, end):
            if not _REQUIRE_BEFORE.search(text, max(begin, string_begin - 40), string_begin - 1):
                values.append((string_begin, string_end, "a JavaScript string"))
    found = []
    for begin, end, where in sorted(values):
        image = text[begin:end]
        if _is_local_image(image):
            reason = (
                f"the MDX component `<{name}>` names {image!r} ({where}), which is not "
                "hosted: how a site's component reads its paths is its own, so imgsync "
                "rewrites plain Markdown images and HTML tags only; show the file with "
                f"`![]({_shown(image)})`, {_ACCEPT_MDX}"
            )
            found.append(Finding(begin, image, reason))
    return found, tag.end


def mdx_require(text: str, start: int) -> Finding | None:
    """The MDX `require('...')` at `text[start]`, when it names a local image."""
    found = _REQUIRE.match(text, start)
    if found is None or not _is_local_image(found.group("path")):
        return None
    image = found.group("path")
    reason = (
        f"`{found.group()}` is bundled by the site generator (MDX), not read by imgsync, so "
        f"{image!r} is not hosted: name the file in a Markdown image, `![]({_shown(image)})`, "
        f'or a plain `src="{image}"`, {_ACCEPT_MDX}'
    )
    return Finding(start, image, reason)


def in_html(html: str) -> list[Finding]:
    """Each MDX `require('...')` (JSX, to MDX) and Hexo tag (Hexo reads them before Markdown)
    of a local image in a piece of raw HTML, but those in its comments (one left open hides
    the rest of the piece)."""
    comments = [match.span() for match in _COMMENT.finditer(html)]
    found = []
    for match in _IN_HTML.finditer(html):
        if any(start <= match.start() < end for start, end in comments):
            continue
        if match.group("component"):
            found += component_tag(html, match.start(), match.group("component"))[0]
            continue
        if match.group("hexo"):
            finding, _ = hexo_tag(html, match.start())
        else:
            finding = mdx_require(html, match.start())
        if finding is not None:
            found.append(finding)
    return found


def mdx_import(text: str, start: int) -> Finding | None:
    """The MDX `import X from '...'` line at `text[start]`, when it names a local image."""
    found = _IMPORT.match(text, start)
    if found is None or not _is_local_image(found.group("path")):
        return None
    image = found.group("path")
    at = start + len(found.group()) - len(found.group().lstrip(" \t"))
    reason = (
        f"`import ... from {found.group('quote')}{image}{found.group('quote')}` is bundled "
        f"by the site generator (MDX), not read by imgsync, so {image!r} is not hosted: "
        f"show the file with a Markdown image, `![]({_shown(image)})`, {_ACCEPT_MDX}"
    )
    return Finding(at, image, reason)


def curly_title(written: str, alt: str, destination: str, at: int) -> Finding | None:
    """`![alt](path “title”)`, which CommonMark reads as text (a title's quotes must be
    straight): a finding when `path` is a local image; `destination` is all that is
    between the parentheses, `written` the whole image as written."""
    path, space, title = destination.partition(" ")
    if not space:
        path, space, title = destination.partition("\t")
    title = title.strip(" \t")
    if not space or not title or title[0] not in _CURLY_OPENERS:
        return None
    image = decode_markdown_destination(path)
    if not _is_local_image(image):
        return None
    inner = title[1:-1] if title[-1:] in _CURLY_CLOSERS + "\"'" else title[1:]
    fixed = inner.replace('"', '\\"')
    reason = (
        f"`{written}` is not an image to CommonMark, as its title is in curly quotes (typed "
        f"by smart quotes), so {image!r} is not hosted: write straight quotes, "
        f'`![{alt}]({path} "{fixed}")`'
    )
    return Finding(at, image, reason)


def _is_local_image(path: str) -> bool:
    target = local_target(path)
    return target is not None and looks_like_image_path(target.path)


def _shown(path: str) -> str:
    """A path as a Markdown destination would hold it (in `<...>` when it has a space)."""
    return f"<{path}>" if re.search(r"[ \t()]", path) else path


def with_post_name(reason: str, image: str, stem: str) -> str:
    """A Hexo asset's reason with the post's asset folder named: `stem` is the post's file
    name without its extension, as Hexo names the folder."""
    return reason.replace(f"`![]({POST_FOLDER}{image})`", f"`![]({_shown(f'{stem}/{image}')})`")
