"""The README names only files that exist (every repository path and ``batpal.*`` name it mentions, and the layout
block's entries), and ``CITATION.cff`` parses, with the paper as its preferred citation."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
TOP = ("batpal", "configs", "tests", "benchmarks", "scripts", "notebooks")
# a repository path anywhere in the text (prose, inline code, command blocks): a top-level folder, then a path;
# not the tail of a longer path (``smacv2/env/...`` of another repository, ``$SC2PATH/...``)
PATH = re.compile(rf"(?<![\w./<>$~-])((?:{'|'.join(TOP)})/[\w./-]*|[A-Za-z][\w-]*\.(?:cff|toml))")
DOTTED = re.compile(r"(?<![\w./])batpal(?:\.[A-Za-z_]\w*)+")


def _mentioned_paths(text: str) -> set[str]:
    return {m.group(1).rstrip(".") for m in PATH.finditer(text)}


def test_every_path_the_readme_mentions_exists() -> None:
    paths = _mentioned_paths(README)
    assert {"batpal/config/schema.py", "scripts/gather_sweep.py", "CITATION.cff"} <= paths  # the parser finds them
    assert "smacv2/env/starcraft2/maps/smac_maps.py" not in paths  # another repository's path is not ours
    assert not sorted(p for p in paths if not (REPO / p).exists())


def test_every_batpal_name_the_readme_mentions_exists() -> None:
    """``batpal.a.b`` is a module or package, or a name defined in one (``batpal.envs.make``)."""
    missing = []
    for name in sorted(set(DOTTED.findall(README))):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            base = REPO.joinpath(*parts[:cut])
            source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
            if source.is_file():
                rest = parts[cut:]
                if not rest or (len(rest) == 1 and re.search(rf"\b{rest[0]}\b", source.read_text())):
                    break
                missing.append(name)
                break
        else:
            missing.append(name)
    assert not missing


def test_the_layout_block_lists_existing_files() -> None:
    block = README.split("## Layout", 1)[1].split("```", 2)[1]
    missing, root = [], None
    for line in block.splitlines():
        bare = re.sub(r"\([^)]*\)?", " ", line)  # descriptions in parentheses are prose
        tokens = re.findall(r"(?<![\w/])[\w.]+(?:/|\.py|\.yaml)(?=\s|$)", bare)
        if line[:1].strip():  # a top-level line: its first token is the folder the next lines continue
            root = tokens[0]
            inside = root in ("batpal/", "configs/")  # the rest of the line lies in it; else more top-level folders
            entries = [root] + [(root if inside else "") + t for t in tokens[1:]]
        else:
            entries = [root + t for t in tokens]
        missing += [e for e in entries if not (REPO / e).exists()]
    assert not missing


def test_path_parser_catches_a_missing_file() -> None:
    text = "see `batpal/no_such_module.py` and scripts/nothing.py, not smacv2/env/x.py"
    assert _mentioned_paths(text) == {"batpal/no_such_module.py", "scripts/nothing.py"}


def test_citation_cites_the_paper() -> None:
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["title"].startswith("batpal")
    paper = cff["preferred-citation"]
    assert paper["title"] == (
        "Bayesian Robust Cooperative Multi-Agent Reinforcement Learning Against Unknown Adversaries"
    )
    assert [(a["given-names"], a["family-names"]) for a in paper["authors"]] == [
        ("Kiarash", "Kazari"),
        ("György", "Dán"),
    ]
    assert paper["year"] == 2026 and "ICLR" in paper["conference"]["name"]
