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


def _command(name: str) -> argparse.ArgumentParser:
    for action in PARSER._actions:
        if isinstance(action, argparse._SubParsersAction):
            command: argparse.ArgumentParser = action.choices[name]
            return command
    raise AssertionError("the parser has no commands")


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "sync",
            {"--config", "--host", "--json", "--jobs", "--quiet", "--verbose", "--dry-run"}
            | {"--reprocess", "--output"},
        ),
        ("check", {"--config", "--json", "--quiet", "--verbose", "--format"}),
        ("watch", {"--config", "--host", "--jobs", "--quiet", "--verbose", "--poll"}),
        ("upload", {"--config", "--host", "--json", "--jobs", "--quiet", "--verbose", "--format"}),
        ("doctor", {"--config", "--host", "--json"}),
        ("init", {"--config", "--force"}),
    ],
)
def test_each_command_offers_only_the_options_that_apply(command: str, options: set[str]) -> None:
    offered = {
        action.option_strings[-1]
        for action in _command(command)._actions
        if action.option_strings and action.option_strings[-1] != "--help"
        if action.help != argparse.SUPPRESS  # listed in the help, not only understood
    }
    assert offered == options


@pytest.mark.parametrize(
    "argv",
    [
        ["init", "--host", "b"],
        ["init", "--json"],
        ["init", "-j", "2"],
        ["check", "-j", "2", "."],
        ["watch", "--json", "docs"],
        ["doctor", "--dry-run"],
    ],
)
def test_an_option_that_means_nothing_to_a_command_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        PARSER.parse_args(argv)
    assert caught.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], "sync"),
        (["--dry-run"], "sync"),
        (["-q"], "sync"),
        (["check"], "check"),
        (["watch"], "watch"),
        (["doctor"], "doctor"),
    ],
)
def test_no_path_is_no_error_the_project_is_meant(argv: list[str], command: str) -> None:
    args = PARSER.parse_args(with_default_command(argv, PARSER))
    assert (args.command, args.paths) == (command, [])
    # Every command's Namespace holds every shared option, offered or not.
    assert (args.json, args.jobs, args.host) == (False, None, None)


def test_upload_still_needs_files(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        PARSER.parse_args(["upload"])
    assert "FILE" in capsys.readouterr().err


def test_help_lists_doctor_and_each_command_its_exit_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "doctor" in PARSER.format_help()
    for command in ("sync", "check", "doctor", "upload"):
        text = _command(command).format_help()
        assert "exit status: 0" in text, command
        assert "positional arguments:" in text, command
    assert "1 a check failed" in _command("doctor").format_help()


def test_the_command_line_names_the_command_an_option_does_not_fit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from imgsync.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["--host", "blog", "check"])
    assert caught.value.code == 2
    assert "`check` does not take --host; `imgsync check --help`" in capsys.readouterr().err
