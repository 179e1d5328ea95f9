"""Digits classification, side by side (issue 4): accuracy and fit time over several seeds.

    python benchmarks/digits.py [--seeds 5] [--rows 1,2,3,4,5,6] [--cv] [--extra "n_iter=3" ...]

Data: scikit-learn's digits scaled X/16, train_test_split(test_size=0.2, random_state=0). Each fit is timed
alone, one after another, in this process (torch uses all cores). Prints a Markdown table.

--cv ranks the fully supervised rows without the test set and with 8x its predictions: for each seed,
StratifiedKFold(5, shuffle=True, random_state=seed) over the 1,437 training rows; every training row is predicted
once per seed by a model that did not see it. The 360-digit test set cannot separate models a few digits apart.
"""
import argparse
import platform
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline

from deepbelief import DBNClassifier, __version__
from deepbelief.compat import SupervisedDBNClassification

TUTORIAL = dict(hidden_layers_structure=[256, 256], learning_rate_rbm=0.05, learning_rate=0.1, n_epochs_rbm=10,
                n_iter_backprop=100, batch_size=32, activation_function="relu", dropout_p=0.2, verbose=False)


def rows(extra=()):
    """{number: (name, make(seed) -> model, semi-supervised?)}; ``extra``: DBNClassifier keyword strings, rows
    101, 102, ..."""
    added = {100 + i: (f"DBNClassifier({kwargs})", lambda seed, kwargs=kwargs: eval(
        f"DBNClassifier({kwargs}, random_state={seed})"), False) for i, kwargs in enumerate(extra, 1)}
    return added | {
        1: ("compat: the tutorial's setting (SupervisedDBNClassification)",
            lambda seed: SupervisedDBNClassification(random_state=seed, **TUTORIAL), False),
        2: ("DBNClassifier() defaults (rectified pretraining)", lambda seed: DBNClassifier(random_state=seed), False),
        10: ("DBNClassifier(pretrain='rbm'): the same with noisy-ReLU RBM pretraining",
             lambda seed: DBNClassifier(pretrain="rbm", random_state=seed), False),
        3: ("DBNClassifier(pretrain=False): same network, random init",
            lambda seed: DBNClassifier(pretrain=False, random_state=seed), False),
        4: ("scikit-learn Pipeline(BernoulliRBM(100), LogisticRegression(C=6000))",
            lambda seed: Pipeline([("rbm", BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10,
                                                        random_state=seed)),
                                   ("logistic", LogisticRegression(C=6000, max_iter=10000))]), False),
        5: ("scikit-learn LogisticRegression(C=100) on pixels",
            lambda seed: LogisticRegression(C=100, max_iter=10000), False),
        6: ("semi-supervised, 10% labels: DBNClassifier() pretrained on all rows",
            lambda seed: DBNClassifier(random_state=seed), True),
        7: ("semi-supervised, 10% labels: DBNClassifier(pretrain=False) on the labelled rows",
            lambda seed: DBNClassifier(pretrain=False, random_state=seed), True),
        8: ("semi-supervised, 10% labels: DBNClassifier(activation='sigmoid', n_iter=100, max_iter=500) pretrained",
            lambda seed: DBNClassifier(activation="sigmoid", n_iter=100, max_iter=500, random_state=seed), True),
        9: ("semi-supervised, 10% labels: the same, pretrain=False on the labelled rows",
            lambda seed: DBNClassifier(activation="sigmoid", pretrain=False, max_iter=500, random_state=seed), True),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rows", default="1,2,10,3,4,5,6,7,8,9")
    parser.add_argument("--cv", action="store_true", help="5-fold cross-validation on the training split instead")
    parser.add_argument("--extra", action="append", default=[],
                        help="also a DBNClassifier with these keyword arguments, e.g. 'n_iter=3' (rows 101, ...)")
    args = parser.parse_args()
    args.rows += "".join(f",{100 + i}" for i in range(1, len(args.extra) + 1))
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    print(f"deepbelief {__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{platform.processor() or platform.machine()}, {args.seeds} seeds")
    if args.cv:
        cross_validate(X_train, y_train, [int(r) for r in args.rows.split(",")], args.seeds, args.extra)
        return
    print("| row | model | median acc | mean | min | max | test errors, all seeds | median fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for number in [int(r) for r in args.rows.split(",")]:
        name, make, semi = rows(args.extra)[number]
        accuracies, times = [], []
        for seed in range(args.seeds):
            X_fit, y_fit = X_train, y_train
            if semi:  # keep 10% of the labels, the same rows for every model of a seed
                hidden = np.random.default_rng(seed).permutation(len(y_train))[len(y_train) // 10:]
                y_fit = y_train.copy()
                y_fit[hidden] = -1
                if "pretrain=False" in name:
                    X_fit, y_fit = X_train[y_fit != -1], y_fit[y_fit != -1]
            model = make(seed)
            start = time.perf_counter()
            model.fit(X_fit, y_fit)
            times.append(time.perf_counter() - start)
            accuracies.append(float((np.asarray(model.predict(X_test)) == y_test).mean()))
        errors = round(sum(1 - a for a in accuracies) * len(y_test))
        print(f"| {number} | {name} | {np.median(accuracies):.4f} | {np.mean(accuracies):.4f} | "
              f"{min(accuracies):.4f} | {max(accuracies):.4f} | {errors} | {np.median(times):.2f} |", flush=True)


def cross_validate(X, y, numbers, seeds, extra):
    print("| row | model | CV errors, all seeds | CV accuracy | per seed | median fit s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for number in numbers:
        name, make, semi = rows(extra)[number]
        if semi:
            continue
        per_seed, times = [], []
        for seed in range(seeds):
            errors = 0
            for fit_rows, held_out in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
                model = make(seed)
                start = time.perf_counter()
                model.fit(X[fit_rows], y[fit_rows])
                times.append(time.perf_counter() - start)
                errors += int((np.asarray(model.predict(X[held_out])) != y[held_out]).sum())
            per_seed.append(errors)
        print(f"| {number} | {name} | {sum(per_seed)} | {1 - sum(per_seed) / (seeds * len(y)):.4f} | "
              f"{', '.join(map(str, per_seed))} | {np.median(times):.2f} |", flush=True)


if __name__ == "__main__":
    main()
