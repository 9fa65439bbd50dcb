"""From ranking features to the probability that the top article is the right answer.

A logistic calibration whose coefficients were fitted by ``python -m benchmarks.calibrate`` on
validation data only: BANKING77-OOS valid with its near-miss and unrelated questions; Russian
MASSIVE questions against English articles, with CLINC150 oos_val and the validation half of the
Russian out-of-scope questions; the validation half of the demo base's held-out messages.
Figures in docs/benchmarks.md.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Features:
    share: float  # softmax share of the top group
    margin: float  # its lead over the second
    cosine: float  # best cosine between the query and a phrasing of the top group
    lexical: float  # best rapidfuzz ratio (0-1) against its phrasings in the query's script
    same_script: float  # 1 when any phrasing shares the query's script (else lexical is moot)

    def vector(self) -> tuple[float, ...]:
        """Cross-script queries (Russian against English articles) score lower cosines for the
        same meaning, so they get a cosine slope of their own."""
        cross = 1.0 - self.same_script
        return (self.share, self.margin, self.cosine, self.lexical, cross, cross * self.cosine)


COEFFICIENTS = (6.53, -1.19, 6.43, -0.33, -0.17, 2.01)
INTERCEPT = -8.75


def calibrated_confidence(features: Features) -> float:
    z = INTERCEPT + sum(c * f for c, f in zip(COEFFICIENTS, features.vector(), strict=True))
    return 1.0 / (1.0 + math.exp(-z))
