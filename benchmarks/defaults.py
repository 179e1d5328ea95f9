"""Defaults on the data users bring (issue 39): every estimator with its defaults under k-fold cross-validation.

Tables: scikit-learn's digits (raw pixel counts 0-16), linnerud (20 rows, 3 targets), make_classification with
informative, redundant and noise features at several sizes, make_regression, make_friedman1; each raw, behind a
MinMaxScaler and behind a StandardScaler. Beside DBNClassifier / DBNRegressor (defaults): MLPClassifier /
MLPRegressor of the same hidden sizes (256, 256) on standardised inputs, LogisticRegression / Ridge on standardised
inputs, and scikit-learn's Pipeline(MinMaxScaler, BernoulliRBM, LogisticRegression). Prints one markdown table:
mean accuracy (classification) or R^2 (regression) over the folds, and the mean fit time.

    python benchmarks/defaults.py            # 5 folds, sizes 100 to 20,000 (about an hour on 2 CPU cores)
    python benchmarks/defaults.py --quick    # 3 folds, sizes up to 5,000
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits, load_linnerud, make_classification, make_friedman1, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import BernoulliRBM, MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from deepbelief import DBNClassifier, DBNRegressor, OutOfRangeWarning

SIZES = (100, 1000, 5000, 20000)


def tables(quick):
    """(name, X, y, task) of every table."""
    digits = load_digits()
    yield "digits", digits.data, digits.target, "classify"
    linnerud = load_linnerud()
    yield "linnerud", linnerud.data, linnerud.target, "regress"
    for n in (s for s in SIZES if not quick or s <= 5000):
        X, y = make_classification(n, 20, n_informative=5, n_redundant=5, n_classes=3, random_state=0)
        yield f"classification {n}", X, y, "classify"
    X, y = make_regression(1000, 20, n_informative=10, noise=10.0, random_state=0)
    yield "regression 1000", X, y, "regress"
    X, y = make_friedman1(1000, noise=1.0, random_state=0)
    yield "friedman1 1000", X, y, "regress"


def models(task, seed=0):
    """(name, estimator) pairs; the deepbelief estimator first, with its defaults."""
    sizes = dict(hidden_layer_sizes=(256, 256), random_state=seed)
    if task == "classify":
        return [("DBNClassifier", DBNClassifier(random_state=seed)),
                ("MLPClassifier", make_pipeline(StandardScaler(), MLPClassifier(**sizes))),
                ("LogisticRegression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
                ("BernoulliRBM + logistic", make_pipeline(MinMaxScaler(), BernoulliRBM(n_components=256,
                                                                                        random_state=seed),
                                                          LogisticRegression(max_iter=1000)))]
    return [("DBNRegressor", DBNRegressor(random_state=seed)),
            ("MLPRegressor", make_pipeline(StandardScaler(), MLPRegressor(**sizes))),
            ("Ridge", make_pipeline(StandardScaler(), Ridge()))]


def preprocessed(estimator, how):
    if how == "raw":
        return estimator
    return make_pipeline(MinMaxScaler() if how == "minmax" else StandardScaler(), clone(estimator))


def evaluate(estimator, X, y, task, folds):
    split = (StratifiedKFold if task == "classify" else KFold)(folds, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", OutOfRangeWarning)  # held-out folds beyond a MinMaxScaler's range
        result = cross_validate(estimator, X, y, cv=split, scoring="accuracy" if task == "classify" else "r2",
                                error_score="raise")
    return float(np.mean(result["test_score"])), float(np.mean(result["fit_time"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 folds, tables up to 5,000 rows")
    parser.add_argument("--only", help="comma-separated table names to run (default: all)")
    args = parser.parse_args()
    folds = 3 if args.quick else 5
    only = None if args.only is None else set(args.only.split(","))
    print(f"{folds}-fold cross-validation; score: accuracy or R^2 (mean over folds), mean fit seconds in brackets. "
          "The deepbelief estimator with its defaults on the raw table and behind each scaler; the others on "
          "standardised inputs (BernoulliRBM: scaled to [0, 1]) as their users would\n")
    print("| table | deepbelief, raw | deepbelief, MinMaxScaler | deepbelief, StandardScaler | MLP (256, 256) | "
          "logistic / ridge | BernoulliRBM + logistic |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    start = time.perf_counter()
    for name, X, y, task in tables(args.quick):
        if only is not None and name not in only:
            continue
        (_, ours), *others = models(task)
        cells = [evaluate(preprocessed(ours, how), X, y, task, folds) for how in ("raw", "minmax", "standard")]
        cells += [evaluate(estimator, X, y, task, folds) for _, estimator in others]
        text = [f"{score:.3f} ({seconds:.1f} s)" for score, seconds in cells] + [""] * (6 - len(cells))
        print(f"| {name} | " + " | ".join(text) + " |", flush=True)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
