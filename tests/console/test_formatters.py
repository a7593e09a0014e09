"""The console shows messages bare (warnings with their level and logger); the log file's lines carry no ANSI."""

from __future__ import annotations

import logging

from batpal.console.formatters import ConsoleFormatter, PlainFormatter


def _record(msg: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "batpal.fit", "msg": msg, "levelno": level,
                                  "levelname": logging.getLevelName(level)})


def test_console_lines_are_bare_but_warnings_say_their_level_and_source():
    console = ConsoleFormatter()
    assert console.format(_record("== stage pretrain ==\n   budget 1.6k frames")) == (
        "== stage pretrain ==\n   budget 1.6k frames")
    assert console.format(_record("Vmin >= Vmax", logging.WARNING)) == "WARNING (batpal.fit): Vmin >= Vmax"


def test_file_lines_are_stamped_without_ansi_codes():
    line = PlainFormatter().format(_record("\x1b[92m[torchrl][INFO]\x1b[0m storage ready\x1b[2K\n"))
    assert line.endswith(" INFO batpal.fit: [torchrl][INFO] storage ready") and "\x1b" not in line
