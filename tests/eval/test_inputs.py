"""The inputs of an evaluation: defender specs as lists of ``dir`` / ``label=dir`` or a mapping."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from batpal.eval.inputs import parse_defenders


def test_parse_defenders_labels():
    assert parse_defenders(["runs/a", "EIR=runs/b"]) == [(None, Path("runs/a")), ("EIR", Path("runs/b"))]
    assert parse_defenders(OmegaConf.create({"KT": "runs/c"})) == [("KT", Path("runs/c"))]
