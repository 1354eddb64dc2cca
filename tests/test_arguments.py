"""The command line's grammar: options written before the command move after it."""

from __future__ import annotations

import argparse

import pytest

from imgsync.arguments import build_parser, with_default_command


def _options() -> dict[str, bool]:
    """Every option string of every command, and whether the parser reads a value after it."""
    parser = build_parser()
    commands = [
        command
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for command in action.choices.values()
    ]
    assert commands, "the parser has no commands"
    return {
        option: action.nargs != 0
        for command in commands
        for option, action in command._option_string_actions.items()
    }


OPTIONS = _options()
PARSER = build_parser()


@pytest.mark.parametrize("option", sorted(o for o, value in OPTIONS.items() if value))
def test_every_option_with_a_value_keeps_its_value_before_the_command(option: str) -> None:
    # The value is a command's name: only an option known to take a value skips it.
    assert with_default_command([option, "check", "upload", "a.png"], PARSER) == [
        "upload",
        option,
        "check",
        "a.png",
    ]


@pytest.mark.parametrize(
    "option", sorted(o for o, value in OPTIONS.items() if not value and o not in ("-h", "--help"))
)
def test_every_flag_before_the_command_stands_alone(option: str) -> None:
    assert with_default_command([option, "check", "docs"], PARSER) == ["check", option, "docs"]


def test_options_are_read_off_every_command() -> None:
    # So that the tests above see the whole grammar (a sample of it: adding an option
    # must not need an edit here).
    assert OPTIONS["--host"] and OPTIONS["-j"] and OPTIONS["--format"]
    assert not OPTIONS["--json"] and not OPTIONS["--poll"] and not OPTIONS["--force"]
