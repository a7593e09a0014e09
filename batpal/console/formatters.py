"""Log formats of batpal's commands: the console shows messages bare (banners and tables stay aligned), the log
file stamps each record and strips ANSI colour codes, so a redirected or archived log reads as plain text."""

from __future__ import annotations

import logging
import re

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # CSI sequences: colours, cursor moves


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


class ConsoleFormatter(logging.Formatter):
    """INFO and below: the message alone; warnings and errors: ``LEVEL (logger): message``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname} ({record.name}): {text}"
        return text


class PlainFormatter(logging.Formatter):
    """``time LEVEL logger: message`` without ANSI escape codes (the command's log file)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return strip_ansi(super().format(record)).rstrip("\n")  # a captured warning's text ends in a newline
