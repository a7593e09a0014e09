"""Networks: the agents' shared actor and the centralised critic (parameter sharing, section E.2)."""

from batpal.nn.actor import AgentActorNet, make_actor
from batpal.nn.critic import StateCriticNet, make_critic

__all__ = ["AgentActorNet", "StateCriticNet", "make_actor", "make_critic"]
