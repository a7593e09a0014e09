"""Environment registry: ``make(name, num_envs, seed, device)`` returns a TorchRL ``EnvBase``.

Every env shares one TensorDict layout (see ARCHITECTURE.md): ``("agents", "observation")``
``[B, N, obs]``, ``("agents", "action_mask")`` ``[B, N, A]`` bool, ``("agents", "action")``
``[B, N]`` long, ``"state"`` ``[B, S]``, team ``"reward"`` ``[B, 1]`` and
``done / terminated / truncated`` ``[B, 1]``; ``make`` adds ``"episode_reward"`` (RewardSum).
"""

from batpal.envs.registry import ENVS, EnvSpec, make

__all__ = ["ENVS", "EnvSpec", "make"]
