"""From ranking features to the probability that the top article is the right answer.

A logistic calibration whose coefficients were fitted by ``python -m benchmarks.calibrate`` on
validation data only (BANKING77-OOS valid with its near-miss and unrelated questions, CLINC150
oos_val, Russian MASSIVE questions against English articles, the validation half of the demo
base's held-out messages); figures in docs/benchmarks.md.
"""

import math
from dataclasses import astuple, dataclass


@dataclass(frozen=True)
class Features:
    share: float  # softmax share of the top group
    margin: float  # its lead over the second
    cosine: float  # best cosine between the query and a phrasing of the top group
    lexical: float  # best rapidfuzz ratio (0-1) against its phrasings in the query's script
    same_script: float  # 1 when any phrasing shares the query's script (else lexical is moot)


COEFFICIENTS = (6.45, -1.1, 6.17, -0.18, -1.73)
INTERCEPT = -6.91


def calibrated_confidence(features: Features) -> float:
    z = INTERCEPT + sum(c * f for c, f in zip(COEFFICIENTS, astuple(features), strict=True))
    return 1.0 / (1.0 + math.exp(-z))
