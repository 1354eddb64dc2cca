"""Nothing silent: local images named in forms a sync does not host (Hexo tags, MDX
`require`/`import`, curly-quoted titles) are told with file:line and a reason, in every
container, never in code; and a project can accept them with `ignore` or the marker."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgsync.scan import scan_markdown
from imgsync.testing.fake_lsky import FakeLsky
from tests.images import png_bytes
from tests.test_sync_e2e import host, run

__all__ = ["host"]  # the fixture, used by name

# (form as written, the image it names, words of its reason)
FORMS = [
    ("{% asset_img c.png A caption %}", "c.png", "Hexo's `{% asset_img %}` tag names 'c.png'"),
    ('{% asset_img "my shot.png" "A caption" %}', "my shot.png", "`![](<post-name>/my shot.png)`"),
    ("{%- asset_path e.png -%}", "e.png", "Hexo's `{% asset_path %}`"),
    ("{% asset_link f.png Download %}", "f.png", "Hexo's `{% asset_link %}`"),
    (
        "{% img left /img/d.png 200 100 %}",
        "/img/d.png",
        "write it as a Markdown image, `![](/img/d.png)`",
    ),
    (
        "<img src={require('./b.png').default} />",
        "./b.png",
        "`require('./b.png')` is bundled by the site generator (MDX)",
    ),
    (
        'x <img alt="a" src={require("@site/static/img/x.svg").default} /> y',
        "@site/static/img/x.svg",
        'a plain `src="@site/static/img/x.svg"`',
    ),
    (
        "![curly](a.png \u201cA title\u201d)",
        "a.png",
        'write straight quotes, `![curly](a.png "A title")`',
    ),
    ("![single](a.png \u2018t\u2019)", "a.png", '`![single](a.png "t")`'),
    (
        '{{< img src="images/lake.jpg" alt="A lake" filter="Grayscale" >}}',
        "images/lake.jpg",
        "the `img` shortcode names 'images/lake.jpg' (src=), which is not hosted",
    ),
    ("{{% gallery/photo image=shots/b.webp %}}", "shots/b.webp", "`gallery/photo` shortcode"),
]
IDS = [
    "asset_img",
    "quoted",
    "asset_path",
    "asset_link",
    "img",
    "jsx",
    "jsx-inline",
    "curly",
    "single",
    "theme-shortcode",
    "theme-shortcode-%",
]

# Each container a form appears in: `{}` is where it goes; the line it lands on.
CONTAINERS = [
    ("Intro.\n\n{}\n\nMore.\n", 3),
    ("- one\n- {}\n- three\n", 2),
    ("1. one\n\n   {}\n", 3),
    ("> quoted\n> {}\n", 2),
    ("> - {}\n", 1),
    ("| a | b |\n|---|---|\n| x | {} |\n", 3),
    ("---\ntitle: t\n---\n\n{}\n", 5),
    ("Line one\r\n{}\r\nend\r\n", 2),
]


@pytest.mark.parametrize(("form", "image", "words"), FORMS, ids=IDS)
@pytest.mark.parametrize(("container", "line"), CONTAINERS)
def test_each_form_in_each_container_is_told_with_its_line(
    form: str, image: str, words: str, container: str, line: int
) -> None:
    scanned = scan_markdown(container.format(form))

    assert scanned.local_refs == [] and scanned.problems == []
    (told,) = scanned.unhandled
    assert (told.line, told.image) == (line, image)
    assert words in told.reason, told.reason
    assert " is not hosted" in told.reason


@pytest.mark.parametrize(
    "text",
    [
        "`{% asset_img c.png %}` and `require('./b.png')`\n",
        "```\n{% asset_img c.png %}\nimport pic from './a.png'\n![c](a.png \u201ct\u201d)\n```\n",
        "    {% img /d.png %}\n",
        "Text \\{% asset_img c.png %}, escaped, as `\\<img` and `\\{{<` are: text on purpose\n",
        "<!--\n{% asset_img c.png %}\n\nrequire('./b.png')\n-->\n",
        "$require('./b.png')$ as math\n",
    ],
    ids=["code-span", "fence", "indented", "escaped", "comment", "math"],
)
def test_code_math_and_comments_hold_nothing_to_tell(text: str) -> None:
    scanned = scan_markdown(text)
    assert scanned.unhandled == [] and scanned.problems == [] and scanned.refs == []


@pytest.mark.parametrize(
    "text",
    [
        "{% asset_img https://cdn.example/c.png %}\n",  # already hosted
        "{% asset_link notes.pdf %}\n",  # no image
        "{% img /img/d.png %\n",  # no end: not a tag
        "const x = require('./data.json')\n",
        "import Tabs from '@theme/Tabs';\n",
        "![ok](a.png \"straight\") and ![ok](b.png 'single')\n",
        "We import data from 'the past'.\n",
        "{{< code-toggle config=imaging.avif />}}\n",  # a config key, not an image parameter
        '{{< img src="https://cdn.example/lake.jpg" >}}\n',
        "{{</* img src=a.png */>}} is Hugo's way to show one as text\n",
        '{{< img src="a.png" \n\nnever ended\n',  # Hugo's own error to tell
    ],
)
def test_forms_that_name_no_local_image_are_not_told(text: str) -> None:
    assert scan_markdown(text).unhandled == []


def test_a_theme_shortcode_over_several_lines_is_told_at_its_first() -> None:
    text = (
        'Text.\n\n{{< img\n  src="images/examples/lake.jpg"\n  alt="Lake"\n'
        '  filter="Brightness"\n  filterArgs="12"\n>}}\n\nAfter ![x](a.png).\n'
    )
    scanned = scan_markdown(text)
    ((line, _, image, _),) = scanned.unhandled
    assert (line, image) == (3, "images/examples/lake.jpg")
    assert [ref.url for ref in scanned.local_refs] == ["a.png"]


def test_an_mdx_component_names_its_images_in_strings_and_expressions() -> None:
    text = (
        'Before.\n\n<ThemedImage\nalt="Xcode settings"\nsources={{\n'
        "    light: '/docs/assets/Tools.png',\n"
        '    dark: useBaseUrl("/docs/assets/ToolsDark.png"),\n'
        "  }}\n/>\n\n"
        "<Figure src=\"./shot.webp\" caption={`Shot ${n}.png`} icon={require('./i.svg')} />\n"
    )
    told = [(item.line, item.image) for item in scan_markdown(text).unhandled]
    assert told == [
        (6, "/docs/assets/Tools.png"),
        (7, "/docs/assets/ToolsDark.png"),
        (11, "./shot.webp"),
        (11, "./i.svg"),  # as a `require`, once
    ]
    (first,) = scan_markdown("<Gallery items={['a.png']} />\n").unhandled
    assert "the MDX component `<Gallery>` names 'a.png' (a JavaScript string)" in first.reason


@pytest.mark.parametrize(
    "text",
    [
        '<Tabs groupId="os">\n<TabItem value="mac" label="macOS">\n',
        'A `<Figure src="a.png" />` in code.\n',
        "List<String> of a.png names, in prose\n",
        '<Figure src="https://cdn.example/a.png" />\n',
        "0\n\n<IMG alt='x' src=\"a.png\">\n",  # HTML, whatever its case: a reference
        '<A HREF="big.png">Big</A>\n',
    ],
)
def test_components_without_a_local_image_are_not_told(text: str) -> None:
    assert scan_markdown(text).unhandled == []


def test_an_mdx_import_at_the_top_names_its_line() -> None:
    text = "import Shot from './img/shot.png';\nimport Tabs from '@theme/Tabs';\n\n# Title\n"
    (told,) = scan_markdown(text).unhandled
    assert (told.line, told.image) == (1, "./img/shot.png")
    assert "`import ... from './img/shot.png'`" in told.reason
    assert "an `ignore` entry" in told.reason  # MDX has no HTML comment for the marker


def test_a_hexo_tag_in_an_html_block_is_told_but_not_in_its_comment() -> None:
    text = (
        "<div class='half'>\n{% asset_img resnet.png Residual block %}\n</div>\n\n"
        "<div>\n<!-- {% asset_img old.png %} -->\n</div>\n"
    )
    ((line, _, image, _),) = scan_markdown(text).unhandled
    assert (line, image) == (2, "resnet.png")


def test_an_upper_case_extension_and_a_close_without_space_are_read() -> None:
    (told,) = scan_markdown("{% asset_img Request-2.PNG Add the `api` domain%}\n").unhandled
    assert told.image == "Request-2.PNG"


def test_jsx_in_an_html_block_is_no_missing_file_but_a_told_require() -> None:
    text = "<div>\n  <img src={require('./b.png').default} alt=\"b\" />\n</div>\n"
    scanned = scan_markdown(text)
    # `src={...}` is an expression, not a path: before, a "missing file" named `{require(...`.
    assert scanned.refs == []
    ((line, _, image, _),) = scanned.unhandled
    assert (line, image) == (2, "./b.png")


POST = (
    "# Post\n\n![kept](img/there.png)\n\n{mark}{{% asset_img shot.png A shot %}}\n\n"
    "<img src={{require('./img/gone.png').default}} />\n\n"
    "![c](img/there.png \u201cTitle\u201d)\n"
)
HOSTS = '\n[hosts.lsky]\ntype = "lsky"\nurl = "${LSKY_BASE_URL}"\ntoken = "${LSKY_TOKEN}"\n'


def _blog(tmp_path: Path, *, ignore: str = "", mark: str = "") -> Path:
    blog = tmp_path / "blog"
    (blog / "img").mkdir(parents=True)
    (blog / "img" / "there.png").write_bytes(png_bytes())
    (blog / "post.md").write_text(POST.format(mark=mark), encoding="utf-8")
    (blog / "imgsync.toml").write_text(f'host = "lsky"\n{ignore}\n{HOSTS}', encoding="utf-8")
    return blog


def test_sync_tells_each_form_and_leaves_its_bytes(tmp_path: Path, host: FakeLsky) -> None:
    blog = _blog(tmp_path)
    before = (blog / "post.md").read_text(encoding="utf-8")

    synced = run(blog, host)

    assert synced.returncode == 3, synced.stderr  # each told form is a failure
    assert len(host.uploads) == 1
    after = (blog / "post.md").read_text(encoding="utf-8")
    (url,) = {
        line[len("![kept](") : -1] for line in after.splitlines() if line.startswith("![kept]")
    }
    assert after == before.replace("![kept](img/there.png)", f"![kept]({url})")
    errors = [line for line in synced.stderr.splitlines() if line.startswith("error:")]
    assert [line.split(" ", 2)[1] for line in errors] == ["post.md:5:", "post.md:7:", "post.md:9:"]
    assert "`{% asset_img %}` tag names 'shot.png'" in errors[0]
    assert (
        "write it as a Markdown image with its path from this file, such as `![](post/shot.png)`"
        in errors[0]
    )
    assert "`require('./img/gone.png')`" in errors[1]
    assert 'write straight quotes, `![c](img/there.png "Title")`' in errors[2]
    checked = run(blog, host, "check")
    assert checked.returncode == 3 and checked.stderr.count("error: post.md:") == 3


def test_accepted_with_an_entry_and_the_marker_sync_and_check_pass(
    tmp_path: Path, host: FakeLsky
) -> None:
    # The entry as the reason shows the path (`./` and all); the marker before the Hexo tag.
    blog = _blog(
        tmp_path, ignore='ignore = ["post.md:./img/gone.png"]', mark="<!-- imgsync-ignore -->\n"
    )

    checked = run(blog, host, "check")
    assert checked.returncode == 3  # the curly title is still told: it is for fixing
    assert "post.md:10:" in checked.stderr and "asset_img" not in checked.stderr
    assert "require" not in checked.stderr and "2 ignored" in checked.stderr

    post = blog / "post.md"
    post.write_text(
        post.read_text(encoding="utf-8").replace("\u201cTitle\u201d", '"Title"'), encoding="utf-8"
    )
    synced = run(blog, host)
    assert synced.returncode == 0, synced.stderr
    assert "2 ignored" in synced.stderr and "error" not in synced.stderr
    assert len(host.uploads) == 1
    again = run(blog, host, "check", "-v")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout == (
        "post.md:6: shot.png: ignored (<!-- imgsync-ignore -->)\n"
        "post.md:8: ./img/gone.png: ignored (`ignore` entry 'post.md:./img/gone.png')\n"
    )
