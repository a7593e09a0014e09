"""``python -m batpal.reproduce``: a paper table from one command (plan -> cached steps -> Hydra launcher -> tables)."""
