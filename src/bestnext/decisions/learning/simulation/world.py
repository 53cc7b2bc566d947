"""A synthetic bank population with hidden true response rates (the simulator's ground truth).

Persons have an age band, a life stage, children or not, a digital or traditional habit, an
engagement level and the products they hold. The true probability that a person takes up an
offer made on a channel is ``sigmoid(logit)`` where the logit adds an arm bias and per-arm
effects of the person's attributes (so a per-arm logistic model *can* learn it, if it
explores well). Some persons did not grant ``profiling``: their behavioural attributes
(digital habit, engagement) are hidden from every learning policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ACTIONS: tuple[str, ...] = (
    "offer_current_account", "offer_prepaid_card", "offer_pension_fund",
    "offer_family_mortgage", "offer_savings_junior",
)
PRODUCTS: tuple[str, ...] = ("current_account", "prepaid_card", "pension_fund", "family_mortgage", "savings_junior")
CHANNELS: tuple[str, ...] = ("email", "sms", "call_center", "branch", "push")
STAGES: tuple[str, ...] = ("student", "single", "young_family", "established", "retired")
AGE_BANDS: tuple[str, ...] = ("18-29", "30-49", "50-64", "65+")
ARMS: tuple[tuple[int, int], ...] = tuple((a, c) for a in range(len(ACTIONS)) for c in range(len(CHANNELS)))

# Plausible structure (rows: actions in ACTIONS order); the seeded noise makes each world differ.
_BASE = np.array([-4.0, -4.2, -4.9, -5.3, -4.4])
_STAGE = np.array([  # student, single, young_family, established, retired
    [0.9, 0.5, 0.0, -0.3, -0.6],
    [1.3, 0.7, 0.2, -0.2, -1.0],
    [-1.5, 0.2, 0.1, 1.3, 0.4],
    [-2.5, 0.5, 1.9, 0.3, -2.5],
    [-2.0, -1.0, 1.6, 0.4, -0.5],
])
_AGE = np.array([  # 18-29, 30-49, 50-64, 65+
    [0.3, 0.0, -0.2, -0.4],
    [0.4, 0.1, -0.3, -0.6],
    [-0.8, 0.2, 0.9, 0.0],
    [0.0, 0.5, -0.5, -2.0],
    [-0.5, 0.4, 0.1, -0.5],
])
_CHANNEL_HABIT = np.array([  # per channel: (traditional, digital)
    [-0.4, 0.4], [0.1, 0.0], [0.5, -0.5], [0.8, -0.8], [-1.2, 0.6],
])
_CHANNEL_ACTION = np.array([  # action x channel
    [0.2, -0.2, -0.1, 0.3, 0.1],
    [0.1, 0.2, -0.4, -0.3, 0.5],
    [-0.3, -0.6, 0.4, 0.7, -0.5],
    [-0.4, -0.8, 0.3, 0.9, -0.7],
    [0.0, -0.3, 0.2, 0.5, -0.2],
])


@dataclass
class World:
    """Persons (arrays of length ``n``) and the hidden per-arm response logits."""

    n: int
    age_band: np.ndarray
    stage: np.ndarray
    children: np.ndarray
    digital: np.ndarray
    engaged: np.ndarray
    profiling: np.ndarray
    holdings0: np.ndarray  # (n, products) bool, at the start
    logits: np.ndarray = field(repr=False)  # (n, arms): the truth

    def true_rates(self, persons: np.ndarray) -> np.ndarray:
        """True take-up probability of every arm for ``persons`` (rows)."""
        out: np.ndarray = 1.0 / (1.0 + np.exp(-self.logits[persons]))
        return out

    def eligible(self, persons: np.ndarray, holdings: np.ndarray) -> np.ndarray:
        """(len(persons), arms) bool: the offer is applicable (not held, fits the person)."""
        ok = ~holdings[persons]  # (p, actions)
        ok[:, 4] &= self.children[persons]  # savings for a child needs a child
        ok[:, 3] &= self.age_band[persons] < 3  # no new mortgage at 65+
        return np.repeat(ok, len(CHANNELS), axis=1)

    def features(self, person: int, holdings: np.ndarray) -> dict[str, float]:
        """What a learning policy may see (behavioural keys only with profiling)."""
        x = {f"age={AGE_BANDS[self.age_band[person]]}": 1.0, f"stage={STAGES[self.stage[person]]}": 1.0}
        if self.children[person]:
            x["household=children"] = 1.0
        for j, product in enumerate(PRODUCTS):
            if holdings[person, j]:
                x[f"holds:{product}"] = 1.0
        if self.profiling[person]:
            x["prefers=" + ("digital" if self.digital[person] else "traditional")] = 1.0
            x["engagement=" + ("high" if self.engaged[person] else "low")] = 1.0
        return x


def build_world(n: int, seed: int, profiling_rate: float = 0.9) -> World:
    """A seeded population and its truth.

    Examples
    --------
    >>> w = build_world(1000, seed=1)
    >>> rates = w.true_rates(np.arange(1000))
    >>> rates.shape, bool(0.001 < rates.mean() < 0.2)
    ((1000, 25), True)
    """
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 85, n)
    age_band = np.digitize(age, [30, 50, 65])
    stage = np.select(
        [age < 26, age < 35, age < 50, age < 67],
        [np.where(rng.random(n) < 0.7, 0, 1), np.where(rng.random(n) < 0.5, 1, 2),
         np.where(rng.random(n) < 0.6, 2, 3), np.full(n, 3)], 4)
    children = (stage == 2) | ((stage == 3) & (rng.random(n) < 0.5))
    digital = rng.random(n) < np.clip(1.1 - age / 70, 0.1, 0.95)
    engaged = rng.random(n) < 0.35
    holdings = np.zeros((n, len(PRODUCTS)), bool)
    holdings[:, 0] = rng.random(n) < 0.45
    holdings[:, 1] = holdings[:, 0] & (rng.random(n) < 0.2)
    holdings[:, 2] = (age > 40) & (rng.random(n) < 0.15)
    noise = rng.normal(0.0, 0.3, (len(ACTIONS), len(CHANNELS), 3))
    logits = np.empty((n, len(ARMS)))
    for k, (a, c) in enumerate(ARMS):
        logits[:, k] = (_BASE[a] + _STAGE[a, stage] + _AGE[a, age_band] + _CHANNEL_ACTION[a, c]
                        + _CHANNEL_HABIT[c, digital.astype(int)] + noise[a, c, 0] * digital
                        + (0.5 + noise[a, c, 1]) * engaged + noise[a, c, 2] * (stage == 1))
        if a == 1:
            logits[:, k] += 0.7 * holdings[:, 0]
    profiling = rng.random(n) < profiling_rate
    return World(n, age_band, stage, children, digital, engaged, profiling, holdings, logits)
