"""Looking at finished runs: a defender's belief trajectories (``belief_trajectories``, ``belief_views``,
``belief_plots``) and tables over Hydra sweeps (``sweep``).

Import from the submodules; this package imports nothing, so the sweep table does not pay for torch.
"""
