"""Bad input to ``python -m batpal.reproduce`` fails before any compute, naming the key."""

from __future__ import annotations

import pytest

from batpal.reproduce.run import reproduce
from tests.reproduce.conftest import TINY_REPRODUCE, hydra_reproduce


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seeds=[]", "seeds must name at least one seed"),
        ("seeds=[0,1,0]", "seeds repeats [0]"),
        ("reproduce.tables=[figure2,table9]", "reproduce.tables: unknown ['table9']"),
        ("reproduce.tables=[figure2,figure2]", "reproduce.tables repeats ['figure2']"),
        ("reproduce.tables=[]", "reproduce.tables must name at least one"),
        ("reproduce.scale=0", "reproduce.scale multiplies every budget and must be > 0"),
        ("reproduce.scale=-0.5", "reproduce.scale multiplies every budget and must be > 0"),
        ("reproduce.attacks_against=rap", "reproduce.attacks_against must be one of defender, mappo"),
        ("reproduce.kt=per_seed", "reproduce.kt must be one of joint, per_row"),
        ("reproduce.methods=[batpal,ppo]", "reproduce.methods: unknown ['ppo']"),
        ("reproduce.attacks=[act,dyn3]", "reproduce.attacks: unknown ['dyn3']"),
        ("reproduce.episodes=0", "reproduce.episodes must be >= 1"),
        ("seed=3", "pass the seeds as seeds=[0,1,2]"),
    ],
)
def test_refused_before_anything_is_written(tmp_path, override, message):
    run_dir = tmp_path / "out"
    with hydra_reproduce(*TINY_REPRODUCE, override, run_dir=run_dir) as (cfg, command):
        with pytest.raises(ValueError) as err:
            reproduce(cfg, command, ["hydra/launcher=basic"])
    assert message in str(err.value)
    assert not run_dir.exists()


def test_a_misspelt_key_fails_at_composition(tmp_path):
    with pytest.raises(Exception, match="scal"):
        with hydra_reproduce("reproduce.scal=0.1", run_dir=tmp_path):
            pass
