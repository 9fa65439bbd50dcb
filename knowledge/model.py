"""The learned part of search, retrained from the phrasings on every import.

A linear classifier over sentence embeddings learns which directions separate one article group
from its neighbours, which nearest-phrasing search cannot; it is trained only while the base is
small enough for a per-group classifier to be cheap (``MAX_CLASSIFIER_GROUPS``). Beyond that,
search relies on nearest phrasings and lexical matching alone.
"""

import io
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from knowledge.store import PhrasingRows

MAX_CLASSIFIER_GROUPS = 500
MIN_PHRASINGS_PER_GROUP = (
    3  # on average: with fewer there is nothing to learn beyond nearest phrasing
)
REGULARISATION_C = 16.0


@dataclass(frozen=True)
class SearchModel:
    groups: list[str]  # class order of the classifier
    weights: np.ndarray  # (groups, dimension)
    bias: np.ndarray  # (groups,)

    def logits(self, queries: np.ndarray) -> np.ndarray:
        return queries @ self.weights.T + self.bias

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, groups=np.array(self.groups), weights=self.weights, bias=self.bias)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "SearchModel":
        data = np.load(io.BytesIO(blob), allow_pickle=False)
        return cls(
            groups=[str(g) for g in data["groups"]], weights=data["weights"], bias=data["bias"]
        )


def train_search_model(rows: PhrasingRows) -> SearchModel | None:
    groups = sorted(set(rows.groups))
    if not 2 <= len(groups) <= MAX_CLASSIFIER_GROUPS or len(
        rows.groups
    ) < MIN_PHRASINGS_PER_GROUP * len(groups):
        return None
    index = {g: i for i, g in enumerate(groups)}
    labels = np.array([index[g] for g in rows.groups])
    classifier = LogisticRegression(C=REGULARISATION_C, max_iter=200)
    classifier.fit(rows.vectors, labels)
    weights, bias = classifier.coef_, classifier.intercept_
    if len(groups) == 2:  # one logit z for class 1: softmax([0, z]) is the same sigmoid
        weights, bias = np.vstack([np.zeros_like(weights), weights]), np.array([0.0, bias[0]])
    return SearchModel(groups, weights.astype(np.float32), bias.astype(np.float32))
