"""Fit the confidence calibration and the decision thresholds on validation data only.

    python -m benchmarks.calibrate

Prints the coefficients for ``knowledge/confidence.py`` and, for candidate answer thresholds,
the validation answered / wrong / out-of-scope rejection rates from which the defaults in
``helpdesk/settings.py`` were chosen.
"""

import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from benchmarks import datasets as ds
from helpdesk.settings import Settings
from knowledge import KnowledgeBase


def validation_sets():
    """(name, paths to import, labelled cases): nothing here is used by a test figure."""
    yield "banking77_oos valid", ds.banking77_oos_base(), ds.banking77_oos("valid")
    base, cases = ds.massive_ru_split()
    yield "massive ru->en", base, [*cases, *ds.clinc150_oos("val"), *ds.ru_clinc150_oos("valid")]
    yield "demo valid", None, ds.demo_eval("valid")


def collect(settings: Settings):
    rows, labels, in_scope, names = [], [], [], []
    for name, base, cases in validation_sets():
        with tempfile.TemporaryDirectory() as folder:
            kb = KnowledgeBase.open(Path(folder) / "kb.db", settings)
            paths = (
                [ds.DEMO] if base is None else [ds.write_base(Path(folder) / "base.jsonl", base)]
            )
            kb.import_paths(paths, progress=False)
            group_of = kb.store.groups_by_article()
            ranked = kb.ranking_features([text for text, _ in cases])
            for (top, features), (_, expected) in zip(ranked, cases, strict=True):
                expected = group_of.get(expected, expected)
                rows.append(features.vector())
                labels.append(expected is not None and top == expected)
                in_scope.append(expected is not None)
                names.append(name)
    return np.array(rows), np.array(labels), np.array(in_scope), np.array(names)


def main() -> None:
    features, correct, in_scope, names = collect(Settings())
    model = LogisticRegression(C=10, max_iter=1000).fit(features, correct)
    print("COEFFICIENTS =", tuple(round(float(c), 2) for c in model.coef_[0]))
    print("INTERCEPT =", round(float(model.intercept_[0]), 2))
    confidence = model.predict_proba(features)[:, 1]
    print(f"\n{'set':<22}{'threshold':>10}{'answered':>10}{'wrong':>8}{'oos rejected':>14}")
    for name in np.unique(names):
        mask = names == name
        for threshold in np.arange(0.3, 0.8, 0.05):
            answered = (confidence >= threshold) & mask
            print(
                f"{name:<22}{threshold:>10.2f}"
                f"{answered[in_scope].sum() / (in_scope & mask).sum():>10.3f}"
                f"{(answered & in_scope & ~correct).sum() / (in_scope & mask).sum():>8.3f}"
                f"{1 - answered[~in_scope].sum() / max((~in_scope & mask).sum(), 1):>14.3f}"
            )
    quantiles = np.quantile(confidence[in_scope & correct], [0.02, 0.05, 0.1])
    print("\nconfidence of right in-scope answers, 2/5/10th percentiles:", np.round(quantiles, 3))


if __name__ == "__main__":
    main()
