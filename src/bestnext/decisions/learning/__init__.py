"""The learning half of decisions: propensity models, the model bank, exploration policies,
off-policy evaluation and the simulator that proves it learns."""

from bestnext.decisions.learning.bank import ModelBank, Propensity
from bestnext.decisions.learning.features import BEHAVIOURAL_PREFIXES, build_features, drop_behavioural
from bestnext.decisions.learning.models import BayesLogit, PropensityModel, RiverLogit, model_from_state
from bestnext.decisions.learning.policies import (
    POLICIES,
    Choice,
    EpsilonGreedyPolicy,
    GreedyPolicy,
    Scored,
    ThompsonPolicy,
    UniformPolicy,
    choose,
)

__all__ = [
    "BEHAVIOURAL_PREFIXES",
    "POLICIES",
    "BayesLogit",
    "Choice",
    "EpsilonGreedyPolicy",
    "GreedyPolicy",
    "ModelBank",
    "Propensity",
    "PropensityModel",
    "RiverLogit",
    "Scored",
    "ThompsonPolicy",
    "UniformPolicy",
    "build_features",
    "choose",
    "drop_behavioural",
    "model_from_state",
]
