"""``<run dir>/<job>.log``: the command's records and warnings, stamped, without ANSI codes; an error's traceback."""

from __future__ import annotations

import logging
import warnings

import pytest

from batpal.console.logfile import command_log

log = logging.getLogger("batpal.tests.console")


def test_records_and_warnings_reach_the_file_without_ansi_and_warnings_still_reach_stderr(tmp_path, capsys):
    with command_log(tmp_path / "run", "fit") as path:
        log.info("\x1b[92m== stage pretrain ==\x1b[0m\n   budget 1.6k frames")
        warnings.warn("a severity outside [0, 1] (test)", UserWarning, stacklevel=1)
    log.info("after the command")
    text = path.read_text()
    assert path == (tmp_path / "run" / "fit.log").resolve()
    assert "== stage pretrain ==\n   budget 1.6k frames" in text and "\x1b" not in text
    assert "UserWarning: a severity outside [0, 1] (test)" in text and "after the command" not in text
    assert "UserWarning: a severity outside [0, 1] (test)" in capsys.readouterr().err
    assert not logging.getLogger("py.warnings").handlers  # the route is undone with the command


def test_an_error_is_written_with_its_traceback_and_a_handler_on_the_same_file_is_replaced(tmp_path):
    hydra_file = logging.FileHandler(tmp_path / "fit.log")  # e.g. Hydra's default job log on the same file
    logging.getLogger().addHandler(hydra_file)
    try:
        with pytest.raises(RuntimeError, match="boom"), command_log(tmp_path, "fit") as path:
            same = [h for h in logging.getLogger().handlers if getattr(h, "baseFilename", None) == str(path)]
            assert len(same) == 1 and same[0] is not hydra_file
            log.info("once")
            raise RuntimeError("boom")
    finally:
        logging.getLogger().removeHandler(hydra_file)
    text = path.read_text()
    assert text.count("once") == 1 and "ERROR batpal: fit failed" in text and "RuntimeError: boom" in text
