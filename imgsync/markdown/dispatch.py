"""markdown-it's inline loop, trying at each character only the rules that can start there.

markdown-it tries every inline rule in turn at each character where the text rule stops
(`*`, `[`, `<`, `:`, ...), and each rule (wrapped by parser.py) is a Python call that
looks at that character first and gives up. Here the rules are looked up by the
character, once per distinct character: the same rules in the same order, but only
those that can start with it. A rule's first check is on that character, before it
changes anything, so skipping it where it would give up changes nothing: the tokens are
those of markdown-it's own loop (tests/test_scan_gate.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

# The characters each of markdown-it's inline rules (and dollarmath's) starts with: the
# first thing each checks. "text" starts with any other than markdown-it's terminators;
# a rule not named here (a plugin's) is tried at every character, as markdown-it does.
FIRST_CHARS = {
    "newline": "\n",
    "escape": "\\",
    "backticks": "`",
    "strikethrough": "~",
    "emphasis": "*_",
    "link": "[",
    "image": "!",
    "autolink": "<",
    "html_inline": "<",
    "entity": "&",
    "math_inline": "$",
}

Rule = Callable[[StateInline, bool], bool]


def dispatch_inline(md: MarkdownIt) -> None:
    """Make `md`'s inline tokenizer (and its look-ahead, `skipToken`) try only the rules
    that can start at each character. Call it once `md`'s inline rules are final."""
    inline = md.inline
    rules = [(rule.name, rule.fn) for rule in inline.ruler.__rules__ if rule.enabled]
    terminators = inline.terminator_re
    table: dict[str, tuple[Rule, ...]] = {}

    def rules_at(char: str) -> tuple[Rule, ...]:
        found = table.get(char)
        if found is None:
            found = table[char] = tuple(
                function
                for name, function in rules
                if (
                    terminators.match(char) is None
                    if name == "text"
                    else char in FIRST_CHARS.get(name, char)
                )
            )
        return found

    def tokenize(state: StateInline) -> None:
        # markdown-it's ParserInline.tokenize, with `rules_at` for its list of every rule.
        end = state.posMax
        src = state.src
        max_nesting = state.md.options["maxNesting"]
        while state.pos < end:
            pos = state.pos
            ok = False
            if state.level < max_nesting:
                for rule in rules_at(src[pos]):
                    if rule(state, False):
                        ok = True
                        if state.pos <= pos:
                            raise RuntimeError("inline rule didn't increment state.pos")
                        break
            if ok:
                if state.pos >= end:
                    break
                continue
            state.append_pending(src[pos])
            state.pos += 1
        if state.pending:
            state.pushPending()

    def skip_token(state: StateInline) -> None:
        # markdown-it's ParserInline.skipToken, the same way.
        pos = state.pos
        cache = state.cache
        if pos in cache:
            state.pos = cache[pos]
            return
        ok = False
        if state.level < state.md.options["maxNesting"]:
            for rule in rules_at(state.src[pos]):
                state.level += 1
                ok = rule(state, True)
                state.level -= 1
                if ok:
                    if state.pos <= pos:
                        raise RuntimeError("inline rule didn't increment state.pos")
                    break
        else:
            state.pos = state.posMax  # too deep: markdown-it skips to the end
        if not ok:
            state.pos += 1
        cache[pos] = state.pos

    # Instance attributes: they shadow the methods, for the nested calls (link labels) too.
    inline.tokenize = tokenize  # type: ignore[method-assign]
    inline.skipToken = skip_token  # type: ignore[method-assign]
