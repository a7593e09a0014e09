"""A tiny team game: every agent sees one target action; the team earns the share of agents that play it."""

import torch
from tensordict import TensorDict
from torchrl.data import Categorical, Composite, Unbounded
from torchrl.envs import EnvBase


class MatchEnv(EnvBase):
    def __init__(self, num_envs, seed, device, n_agents=3, n_actions=4, max_steps=50):
        super().__init__(device=device, batch_size=(num_envs,))  # the specs below move to `device`
        b, n, a = self.sizes = num_envs, n_agents, n_actions
        self.max_steps, self.t, self.rng = max_steps, 0, torch.Generator().manual_seed(seed)
        agents = Composite(observation=Unbounded((b, n, a)), action_mask=Categorical(2, (b, n, a), dtype=torch.bool),
                           shape=(b, n))
        self.observation_spec = Composite(agents=agents, state=Unbounded((b, a)), shape=(b,))
        self.action_spec = Composite(agents=Composite(action=Categorical(a, (b, n)), shape=(b, n)), shape=(b,))
        self.reward_spec = Unbounded((b, 1))
        flag = Categorical(2, (b, 1), dtype=torch.bool)
        self.done_spec = Composite(done=flag, terminated=flag.clone(), truncated=flag.clone(), shape=(b,))

    def _set_seed(self, seed):
        self.rng.manual_seed(seed or 0)

    def _reset(self, tensordict=None, **kwargs):
        self.t = 0  # every episode lasts max_steps steps: all of them end, and restart, together
        return self._observe()

    def _step(self, tensordict):
        hits = (tensordict["agents", "action"] == self.target[:, None]).float()  # [B, N]
        self.t += 1
        return self._observe().set("reward", hits.mean(1, keepdim=True))

    def _observe(self):
        b, n, a = self.sizes
        self.target = torch.randint(a, (b,), generator=self.rng).to(self.device)
        seen, end = torch.eye(a, device=self.device)[self.target], torch.full((b, 1), self.t >= self.max_steps)
        mask = torch.ones(b, n, a, dtype=torch.bool)
        agents = TensorDict(observation=seen[:, None].expand(b, n, a), action_mask=mask, batch_size=(b, n))
        return TensorDict(agents=agents, state=seen, done=end, terminated=torch.zeros_like(end), truncated=end,
                          batch_size=(b,), device=self.device)


def make_env(num_envs, seed, device, **kwargs):
    return MatchEnv(num_envs, seed, device, **kwargs)


make_env.return_bounds = (0.0, 50.0)  # optional: the (lo, hi) of the normalised return
