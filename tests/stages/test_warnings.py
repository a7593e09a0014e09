"""Severities outside [0, 1] warn with their likely cause (eq. 3's eta leaves [0, 1] when V(0) leaves [Vmin, Vmax])."""

from __future__ import annotations

import pytest

from batpal.stages.adversarial import warn_if_outside_unit
from tests.conftest import compose_config


def test_a_severity_outside_the_unit_interval_warns_naming_the_cause():
    cfg = compose_config(["experiment=mpe_spread"])
    with pytest.warns(UserWarning, match=r"psi_2's measured severity 1.440 > 1.*calibrate.frames=2000000.*ppo.gamma"):
        warn_if_outside_unit(2, [0.9, 1.44], cfg)
    with pytest.warns(UserWarning, match=r"psi_1's measured severity -0.100 < 0.*Vmax is a noisy estimate"):
        warn_if_outside_unit(1, [-0.1, 0.2], cfg)


def test_severities_inside_the_unit_interval_do_not_warn(recwarn):
    warn_if_outside_unit(3, [0.0, 0.5, 1.0], compose_config(["experiment=mpe_spread"]))
    assert not [w for w in recwarn if "severity" in str(w.message)]
