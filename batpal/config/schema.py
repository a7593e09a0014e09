"""Typed schemas of every config group, registered with Hydra's ConfigStore: one typed path per setting.

``fit.yaml``, ``attack.yaml`` and ``evaluate.yaml`` start from these dataclasses, so a misspelt key
(``game.barrier_lambd=0.1``) or a wrong type fails at composition, naming the key. PPO settings live in one
node, ``ppo``; each stage's ``ppo`` node follows it (interpolations) and an experiment overrides only what differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING


@dataclass
class EnvConfig:
    """The environment (``batpal.envs.make``): registry name, batches of envs, episode limit, extra kwargs.

    ``num_envs`` is the training collector's batch, ``eval_envs`` every evaluation's (one batched env reused for
    all its episodes); on SMAC each env is a StarCraft II process, and ``max_processes`` caps both.
    """

    name: str = "mpe_spread"
    num_envs: int = 512
    max_episode_steps: int = 50
    kwargs: dict[str, Any] = field(default_factory=dict)
    eval_envs: int | None = None  # envs of any evaluation's batch at most; None: num_envs
    max_processes: int | None = None  # num_envs and eval_envs at most (SMAC: StarCraft II processes); None: no cap
    # what one nat of detectability costs an RL attack at attack.c = 1, in this env's reward: the c of DYN-1 / DYN-2
    # were set on MPE-Spread (1.0); an env whose returns span another range scales them, so a nat costs the same
    # share of the paper's normalised return (LBF: 0.34 / 142); only batpal.attack reads it
    detectability_unit: float = 1.0


@dataclass
class ModelConfig:
    """Actor and critic MLP widths (shared across agents) and activation."""

    hidden: list[int] = field(default_factory=lambda: [128, 128])
    activation: str = "relu"


@dataclass
class PPOConfig:
    """The PPO settings every stage uses (paper Table 6 unless noted); ``rollout_steps`` = T per iteration."""

    rollout_steps: int = 50
    gamma: float = 0.99
    gae_lambda: float = 0.95
    value_norm: bool = True
    clip_epsilon: float = 0.2
    entropy_coeff: float = 0.01
    actor_lr: float = 5.0e-4
    critic_lr: float = 5.0e-4
    ppo_epochs: int = 5
    minibatches: int = 1
    max_grad_norm: float = 10.0
    max_kl: float = 100.0  # an update moving a policy further (approximate KL, nats) has diverged: the run stops


@dataclass
class StagePPO:
    """What a stage may set differently from ``ppo``; every field follows ``ppo`` unless the stage overrides it.

    ``actor_lr`` is the learner's actor: pi0 in pretrain, the worst case in calibrate, pi_omega (beta, eq. 17)
    in adversarial, the attack in attack. The adversaries psi_k have ``game.adversary_lr`` (alpha, eq. 16).
    """

    clip_epsilon: float = II("ppo.clip_epsilon")
    entropy_coeff: float = II("ppo.entropy_coeff")
    actor_lr: float = II("ppo.actor_lr")
    critic_lr: float = II("ppo.critic_lr")
    ppo_epochs: int = II("ppo.ppo_epochs")
    minibatches: int = II("ppo.minibatches")
    max_grad_norm: float = II("ppo.max_grad_norm")


def _calibrate_ppo() -> StagePPO:
    """The calibration worst case is an adversary: alpha and the adversary's entropy weight by default."""
    return StagePPO(actor_lr=II("game.adversary_lr"), entropy_coeff=II("game.adversary_entropy_coeff"))


@dataclass
class StageConfig:
    """A training stage's budget: env steps (all envs, all ranks), final evaluation, checkpoint cadence."""

    frames: int = MISSING
    eval_episodes: int = MISSING
    iters_per_epoch: int = 10  # a checkpoint is written every epoch
    ppo: StagePPO = field(default_factory=StagePPO)


@dataclass
class DefenderStage(StageConfig):
    """A stage that trains the defender (``pretrain``: pi0, ``adversarial``: pi_omega): its evaluation during training.

    Every ``eval_every`` env frames (0: off) the current policy plays ``eval_during_episodes`` episodes with no attack
    and (adversarial) against each current psi_k, on an env and generator of its own (batpal/eval/during_training.py).
    """

    eval_every: int = 0
    eval_during_episodes: int = 8


@dataclass
class CalibrateStage(StageConfig):
    """``calibrate``: ``candidates`` worst-case adversaries trained together (different initial weights), each on
    every victim; Vmin^v is the harshest candidate's value on v, so one seed's unlucky search does not set a band."""

    candidates: int = 4
    # stop once converged (batpal/stages/converged.py): after ``converge_patience`` epochs whose mean training
    # return fell by less than ``converge_tol`` x the drop so far, past ``converge_min_frames``; 0: run ``frames``
    converge_tol: float = 0.0
    converge_patience: int = 5
    converge_min_frames: int = 0


@dataclass
class GameConfig:
    """The type game and BATPAL's adversarial stage (sections 3-4, Algorithm 1; paper Table 6 unless noted)."""

    K: int = 4  # severity types per victim
    victims: int = 1  # m victims taken over together (appendix D.5): 1 <= m < N
    vmax: float | None = None  # None: calibrated; a number overrides (paper Table 7)
    vmin: Any = None  # None: calibrated per victim (set); a number or a per-victim(-set) list overrides
    prior: str = "uniform"  # uniform | authors
    benign_prob: float = 0.2  # the authors' prior: P(z = 0)
    world1_fraction: float = 0.5  # share of rollout envs in world 1 (pi_omega); the rest are world 0 (pi0)
    barrier_lambda: float = 0.2  # lambda of eq. 9 / 14 (0.1 on SMAC)
    zeta: float = 0.001  # eq. 14's guard on the severity scale (share of Vmax - Vmin^v; the authors' 1e-3)
    adversary_lr: float = 5.0e-4  # alpha >= beta (two-timescale, eq. 16-17)
    # alpha of the severity-constrained psi_k only (BATPAL, KT, ablations); None: adversary_lr (batpal.config.alpha)
    constrained_adversary_lr: float | None = None
    adversary_entropy_coeff: float = 0.001
    belief_lr: float = 5.0e-4
    belief_hidden: int = 128  # the GRU's width (paper Table 6)
    belief_batch: float = 1.0  # share of the world-1 histories in chi's cross-entropy step
    belief_mode: str = "softmax"  # softmax over Z | sigmoid over victim ++ severity (the authors' form)
    belief_source: str = "belief"  # belief | true (Perfect Belief) | none (No Belief)
    teacher_forcing_until: float = 0.5  # the policy sees the true type with prob. 1 -> 0 over this share
    warm_start: bool = True  # pi_omega starts from pi0's weights (belief inputs zero)
    adversary_warm_start: bool = True  # every psi_k starts as a copy of pi0 (severity 0)
    adversary_updates: str = "all"  # all: every psi_k with data steps | drawn: one psi_k (the paper)
    constrained: bool = True  # false: adversaries minimise the team's value alone (EIR-MAPPO, Gen-Maxmin, RAP)
    attack_prob: float = 1.0  # the adversary acts at a step with this probability (Gen-Maxmin: 0.5)
    ec_clip: bool = True  # false: EC-PG, no PPO ratio clipping (ablation)
    sign_entropy: bool = False  # true: eq. 14's sign step keeps psi_k's entropy bonus (the paper drops it)
    fixed_adversaries: list[str] = field(default_factory=list)  # attack run dirs: frozen psi_k (KT, Fixed Types)
    v0_smoothing: float = 0.0  # weight of the past in a running mean of V_hat(0) per (v, k)
    v0_estimate: str = "bootstrap"  # bootstrap: eq. 13 with phi(0) | episodes: finished episodes, no critic


@dataclass
class TrainerConfig:
    """``lightning.Trainer`` arguments (the epoch budget and callbacks are set by the stage)."""

    _target_: str = "lightning.Trainer"
    accelerator: str = "cpu"
    devices: Any = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: Any = "32-true"
    log_every_n_steps: int = 1
    enable_progress_bar: bool = True
    enable_model_summary: bool = False
    use_distributed_sampler: bool = False
    num_sanity_val_steps: int = 0
    deterministic: Any = False  # True / "warn": torch's deterministic algorithms
    benchmark: bool | None = None
    detect_anomaly: bool = False
    profiler: str | None = None  # simple | advanced | pytorch


@dataclass
class RunConfig:
    """What every entry point shares and every experiment file (``@package _global_``) may set."""

    env: EnvConfig = field(default_factory=EnvConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    game: GameConfig = field(default_factory=GameConfig)
    pretrain: DefenderStage = field(default_factory=lambda: DefenderStage(frames=20_000_000, eval_episodes=200))
    calibrate: CalibrateStage = field(
        default_factory=lambda: CalibrateStage(frames=2_000_000, eval_episodes=300, ppo=_calibrate_ppo())
    )
    adversarial: DefenderStage = field(default_factory=lambda: DefenderStage(frames=20_000_000, eval_episodes=150))
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: dict[str, Any] = field(default_factory=dict)  # name -> {_target_: a Lightning logger, ...}
    callbacks: dict[str, Any] = field(default_factory=dict)  # name -> {_target_: a Lightning callback, ...}
    experiment_name: str = II("env.name")
    run_dir: str | None = MISSING  # Hydra's output dir; None only while `--cfg job --resolve` prints the config
    seed: int = 0
    ckpt_path: str | None = None  # a checkpoint file, or "last" for <run dir>/checkpoints/last.ckpt


@dataclass
class FitConfig(RunConfig):
    """``python -m batpal.fit``: the method (configs/algo/) and the stages to run."""

    method: str = "batpal"
    stages: list[str] = field(default_factory=lambda: ["pretrain", "calibrate", "adversarial"])


@dataclass
class AttackStage:
    """``python -m batpal.attack``: an RL adversary against a frozen defender, reward -r_team - c * detectability."""

    name: str = "act"  # act | dyn1 | dyn2
    c: float = 0.0  # detectability weight
    frames: int = 2_000_000
    eval_episodes: int = 300
    iters_per_epoch: int = 10
    warm_start: bool = False  # true: the adversary starts as a copy of pi0
    ppo: StagePPO = field(default_factory=StagePPO)


@dataclass
class AttackConfig(RunConfig):
    attack: AttackStage = field(default_factory=AttackStage)
    defender: str = MISSING  # a finished run directory of `python -m batpal.fit`


@dataclass
class EvaluateConfig(RunConfig):
    """``python -m batpal.evaluate``: every defender against every attack on every victim (set)."""

    defenders: Any = None  # a list of run dirs or LABEL=dir strings, or a mapping {LABEL: dir}
    attacks: Any = field(default_factory=lambda: ["none", "random", "noop"])
    episodes: int = 50  # per victim (set) (the paper: 50); env.eval_envs envs per batch
    victims: int | None = None  # agents attacked at once; None: the defenders' game.victims
    severity: int = 1  # k of the type (v, k) a BATPAL-family team's attacked episodes carry
    overwrite: bool = False  # true: replace an earlier evaluation's outputs in run_dir (else refused)
    render: bool = False  # true: a video per (defender, attack, victim) in <run_dir>/videos (the render extra)
    render_episodes: int = 1  # episodes drawn per (defender, attack, victim), apart from the evaluated ones
    render_fps: int = 8  # frames (env steps) a second, 1..50
    render_size: int = 320  # a frame's longer side in pixels, 64..1024
    render_format: str = "gif"  # gif (Pillow) | mp4 (imageio-ffmpeg)


@dataclass
class ReproduceSettings:
    """``python -m batpal.reproduce``: which tables, at what scale, and what each defender is attacked with."""

    tables: list[str] = field(default_factory=lambda: ["figure2"])  # figure2 | table1 | table3
    scale: float = 1.0  # multiplies every budget (frames, evaluation episodes): 0.01 for a smoke test
    attacks_against: str = "defender"  # defender: ACT / DYN-1 / DYN-2 trained against each defender (the paper);
    # mappo: trained once against MAPPO's pi0 and transferred to every defender
    kt: str = "joint"  # joint: one KT per seed, every row's attack a known type (its index is the type k the
    # evaluation gives it); per_row: one KT run per attack row (10 adversarial stages per seed on MPE)
    methods: list[str] = field(
        default_factory=lambda: ["batpal", "eir_mappo", "gen_maxmin", "rap", "mappo", "kt"]
    )  # Figure 2's columns
    attacks: list[str] = field(default_factory=lambda: ["act", "dyn1", "dyn2"])  # the RL attacks' rows
    episodes: int = 50  # per victim and cell (the paper: 50), before scale
    table3_K: list[int] = field(default_factory=lambda: [3, 4, 5])  # Table 3's columns
    fixed_types_c: list[float] = field(default_factory=lambda: [0.0, 0.01, 0.05, 0.1])  # Table 1's Fixed Types
    bootstrap_reps: int = 2000  # rliable's stratified bootstrap resamples
    dry_run: bool = False  # print the plan (steps, cached or to run), refresh a partial run's README.md, and stop
    publish: str | None = None  # a directory (e.g. results/mpe_spread) that receives the tables and README.md


@dataclass
class ReproduceConfig(RunConfig):
    """A paper table: every method on every seed, sharing each seed's pi0 and calibration (``batpal.reproduce``)."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    attack: AttackStage = field(default_factory=AttackStage)  # the RL attacks' budget and PPO settings
    reproduce: ReproduceSettings = field(default_factory=ReproduceSettings)


def register_configs() -> None:
    """Store the schemas: the entry configs start from ``*_schema``, each group's schema under its group."""
    cs = ConfigStore.instance()
    cs.store(name="fit_schema", node=FitConfig)
    cs.store(name="attack_schema", node=AttackConfig)
    cs.store(name="evaluate_schema", node=EvaluateConfig)
    cs.store(name="reproduce_schema", node=ReproduceConfig)
    for group, node in (
        ("env", EnvConfig),
        ("model", ModelConfig),
        ("ppo", PPOConfig),
        ("game", GameConfig),
        ("trainer", TrainerConfig),
    ):
        cs.store(group=f"schema/{group}", name="base", node=node)
    cs.store(group="schema/stage", name="base", node=StageConfig)
    cs.store(group="schema/attack", name="base", node=AttackStage)
