"""chi, the belief network of section 4.2: each agent's GRU over its own history -> belief b_i over the types Z.

An agent's history tau_i is its observations and its own previous actions, so the per-step input is
[observation, previous action one-hot, agent one-hot] (one network shared by all agents, section E.2).
Architecture as the authors' (authors-code-notes.md, "Belief"): LayerNorm -> MLP (ReLU) -> GRU (one layer)
-> linear head; ``"softmax"`` gives probabilities over Z, ``"sigmoid"`` the authors' factored N + K form.

Training (sequence mode) uses TorchRL's ``GRUModule`` (its reset handling and padded multi-trajectory sequences);
collection (step mode) calls the same ``nn.GRU`` directly on tensors (``BeliefModule.step``). ``GRUModule``
takes the time dim as the tensordict's last batch dim and has no notion of an agent dim, so ``BeliefModule``
feeds it a small tensordict with the agents moved in front of time ([*B, N, T]), which it flattens to
[B * N, T] rows, and broadcasts the env-level ``is_init`` to every agent.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from tensordict import TensorDict, TensorDictBase
from tensordict.nn import TensorDictModuleBase
from torch import nn
from torchrl.data import Composite, Unbounded
from torchrl.envs import Compose, TensorDictPrimer, Transform
from torchrl.modules import MLP, GRUModule

AGENTS = "agents"
OBSERVATION = (AGENTS, "observation")
ACTION = (AGENTS, "action")
PREV_ACTION = (AGENTS, "prev_action")
BELIEF_STATE = (AGENTS, "belief_state")
NEXT_BELIEF_STATE = ("next", AGENTS, "belief_state")
BELIEF = (AGENTS, "belief")
BELIEF_LOGITS = (AGENTS, "belief_logits")
IS_INIT = "is_init"
BeliefMode = Literal["softmax", "sigmoid"]


def belief_dim(n_agents: int, n_types: int, mode: BeliefMode, n_sets: int | None = None) -> int:
    """Width D of a belief: |Z| = 1 + S K (softmax over the types) or S + K (sigmoid: victim set ++ severity),
    with S = ``n_sets`` victim sets (default N: one victim)."""
    if mode == "softmax":
        return n_types
    if mode == "sigmoid":
        s = n_agents if n_sets is None else n_sets
        if n_types < 2 or (n_types - 1) % s:
            raise ValueError(f"n_types={n_types} is not 1 + S * K for S={s} victim sets.")
        return s + (n_types - 1) // s
    raise ValueError(f"unknown belief mode {mode!r}; known: 'softmax', 'sigmoid'.")


class PreviousAction(TensorDictPrimer):
    """Env transform keeping each agent's previous action one-hot in ``("agents", "prev_action")`` [B, N, A].

    A primer, so it is zero at (partial) resets and registered in the specs; each step writes one_hot of the
    action just taken into "next", which the rollout moves to the root as the next step's input (tau_i).
    """

    def __init__(self, n_agents: int, n_actions: int) -> None:
        leaf = Unbounded(shape=(n_agents, n_actions))
        super().__init__(Composite({AGENTS: Composite({"prev_action": leaf}, shape=(n_agents,))}), expand_specs=True)
        self.n_actions = n_actions

    def _step(self, tensordict: TensorDictBase, next_tensordict: TensorDictBase) -> TensorDictBase:
        action = tensordict.get(ACTION)  # [B, N]
        next_tensordict.set(PREV_ACTION, F.one_hot(action, self.n_actions).float())  # [B, N, A]
        return next_tensordict


class BeliefModule(TensorDictModuleBase):
    """chi (section 4.2): reads observation, prev_action, belief_state, is_init; writes belief and its logits.

    Step mode (collection, td [*B]) also writes the next hidden state to ``("next", "agents", "belief_state")``;
    sequence mode (training, td [*B, T], time last) recomputes the same beliefs over whole collected batches.
    """

    def __init__(
        self,
        n_agents: int,
        obs_dim: int,
        n_actions: int,
        n_types: int,
        mode: BeliefMode = "softmax",
        hidden: int = 128,
        mlp_layers: int = 1,
        *,
        n_sets: int | None = None,
        sequence: bool = False,
        share_with: BeliefModule | None = None,
    ) -> None:
        super().__init__()
        if mlp_layers < 1:
            raise ValueError(f"mlp_layers must be >= 1, got {mlp_layers}.")
        self.config = dict(
            n_agents=n_agents,
            obs_dim=obs_dim,
            n_actions=n_actions,
            n_types=n_types,
            mode=mode,
            hidden=hidden,
            mlp_layers=mlp_layers,
            n_sets=n_sets,
        )
        self.n_agents, self.n_actions, self.mode, self.hidden = n_agents, n_actions, mode, hidden
        self.out_dim = belief_dim(n_agents, n_types, mode, n_sets)
        self.sequence = sequence
        self.register_buffer("agent_ids", torch.eye(n_agents), persistent=False)
        if share_with is None:
            in_dim = obs_dim + n_actions + n_agents
            mlp = MLP(
                in_features=in_dim,
                out_features=hidden,
                num_cells=[hidden] * (mlp_layers - 1),
                activation_class=nn.ReLU,
                activate_last_layer=True,
            )
            self.encoder = nn.Sequential(nn.LayerNorm(in_dim), mlp)
            gru = nn.GRU(hidden, hidden, num_layers=1, batch_first=True)
            self.head = nn.Linear(hidden, self.out_dim)
        else:
            self.encoder, gru, self.head = share_with.encoder, share_with.rnn.gru, share_with.head
        # Like any GRUModule, the mode can still be overridden by ``torchrl.modules.set_recurrent_mode``.
        self.rnn = GRUModule(
            gru=gru,
            in_keys=["embed", "state", IS_INIT],
            out_keys=["features", ("next", "state")],
            default_recurrent_mode=sequence,
        )
        self.in_keys = [OBSERVATION, PREV_ACTION, BELIEF_STATE, IS_INIT]
        self.out_keys = [BELIEF_LOGITS, BELIEF] + ([] if sequence else [NEXT_BELIEF_STATE])

    def step_module(self) -> BeliefModule:
        """This network in step mode (one env step, for the collector's policy); shares parameters."""
        return self if not self.sequence else BeliefModule(**self.config, sequence=False, share_with=self)

    def sequence_module(self) -> BeliefModule:
        """This network in sequence mode (td [*B, T] with resets inside, for training); shares parameters."""
        return self if self.sequence else BeliefModule(**self.config, sequence=True, share_with=self)

    def primer(self) -> Transform:
        """Env transforms it needs: zero hidden state [B, N, 1, H] at reset, and ``PreviousAction``."""
        state = Unbounded(shape=(self.n_agents, self.rnn.gru.num_layers, self.hidden))
        hidden = TensorDictPrimer(
            Composite({AGENTS: Composite({"belief_state": state}, shape=(self.n_agents,))}), expand_specs=True
        )
        return Compose(hidden, PreviousAction(self.n_agents, self.n_actions))

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """The belief from its logits: softmax over Z, or the sigmoid of each victim / severity entry."""
        return logits.softmax(-1) if self.mode == "softmax" else logits.sigmoid()

    def embed(self, obs: torch.Tensor, prev_action: torch.Tensor) -> torch.Tensor:
        """Per-step input [obs, previous action one-hot, agent one-hot] -> LayerNorm -> MLP: [.., N, H]."""
        ids = self.agent_ids.expand(*obs.shape[:-1], self.n_agents)  # [.., N, N]
        return self.encoder(torch.cat([obs, prev_action, ids], dim=-1))

    def step(
        self, obs: torch.Tensor, prev_action: torch.Tensor, state: torch.Tensor, is_init: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One env step on plain tensors: logits [R, N, D] and the next state [R, N, L, H].

        obs [R, N, obs], prev_action [R, N, A], state [R, N, L, H], is_init [R, 1]. The same GRU as sequence mode,
        called directly: in step mode ``GRUModule`` only adds tensordict plumbing, a third of the collection's
        belief step on MPE.
        """
        x = self.embed(obs, prev_action)  # [R, N, H]
        rows, n, layers = x.shape[0], self.n_agents, self.rnn.gru.num_layers
        state = state.masked_fill(is_init.view(rows, 1, 1, 1), 0.0)  # episode starts begin from zeros
        h0 = state.reshape(rows * n, layers, self.hidden).transpose(0, 1).contiguous()  # [L, R N, H]
        out, h1 = self.rnn.gru(x.reshape(rows * n, 1, self.hidden), h0)  # [R N, 1, H], [L, R N, H]
        logits = self.head(out.reshape(rows, n, self.hidden))
        return logits, h1.transpose(0, 1).reshape(rows, n, layers, self.hidden)

    def forward(self, tensordict: TensorDictBase) -> TensorDictBase:
        obs = tensordict.get(OBSERVATION)  # [*B, (T,) N, obs]
        if not self.rnn.recurrent_mode:
            lead = obs.shape[:-2]  # [*B]
            state = tensordict.get(BELIEF_STATE, None)
            if state is None:  # absent = fresh start
                state = obs.new_zeros(*lead, self.n_agents, self.rnn.gru.num_layers, self.hidden)
            logits, next_state = self.step(
                obs.reshape(-1, *obs.shape[-2:]),
                tensordict.get(PREV_ACTION).reshape(-1, self.n_agents, self.n_actions),
                state.reshape(-1, *state.shape[-3:]),
                tensordict.get(IS_INIT).reshape(-1, 1),
            )
            tensordict.set(NEXT_BELIEF_STATE, next_state.reshape(*lead, *next_state.shape[1:]))
            logits = logits.reshape(*lead, *logits.shape[1:])
            tensordict.set(BELIEF_LOGITS, logits)
            tensordict.set(BELIEF, self.activate(logits))
            return tensordict
        lead = obs.shape[:-1]  # [*B, T, N]
        x = self.embed(obs, tensordict.get(PREV_ACTION))  # [*B, T, N, H]
        init = tensordict.get(IS_INIT).unsqueeze(-2).expand(*lead, 1)  # [*B, T, N, 1]
        state = tensordict.get(BELIEF_STATE, None)  # [*B, T, N, L, H]; absent = fresh start
        if state is None:
            state = x.new_zeros(*lead, self.rnn.gru.num_layers, self.hidden)
        # Episode starts begin from zeros (GRUModule zeroes only in step mode).
        state = state.masked_fill(init.unsqueeze(-1), 0.0)  # [*B, T, N, L, H]
        # GRUModule wants time as the last batch dim: [*B, T, N] -> [*B, N, T]
        x, init, state = x.transpose(-2, -3), init.transpose(-2, -3), state.transpose(-3, -4)
        sub = TensorDict({"embed": x, "state": state, IS_INIT: init}, batch_size=x.shape[:-1])
        features = self.rnn(sub).get("features").transpose(-2, -3)  # [*B, T, N, H]
        logits = self.head(features)  # [*B, T, N, D]
        tensordict.set(BELIEF_LOGITS, logits)
        tensordict.set(BELIEF, self.activate(logits))
        return tensordict


make_belief = BeliefModule  # chi in step mode; ``.sequence_module()`` the training view, ``.primer()`` the transforms
