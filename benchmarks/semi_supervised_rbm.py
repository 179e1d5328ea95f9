"""Semi-supervised classification RBMs on digits: what the unlabelled rows add (issue 42).

One RBM with 10 label units on scikit-learn's digits (X / 16), 2/3 of the rows to train (stratified split, seed 0)
of which only ``--labels`` keep their label (the others -1), the last third to test. Side by side: the
discriminative and hybrid objectives on the labelled rows alone, with the unlabelled rows' generative term
(``unlabelled_weight`` beta * log P(x)), with their entropy term (``unlabelled_objective='entropy'``,
-beta * H(P(y | x))) and with the mutual-information term (``'information'``, beta * (H(pbar) - H(P(y | x))))). Prints a markdown table of test accuracy and fit seconds.

    python benchmarks/semi_supervised_rbm.py [--labels 50 100 300] [--epochs 30]
"""
import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepbelief import RBM

SETTINGS = {
    "discriminative": dict(objective="discriminative"),
    "discriminative + entropy 0.01": dict(objective="discriminative", unlabelled_weight=0.01,
                                          unlabelled_objective="entropy"),
    "discriminative + entropy 0.1": dict(objective="discriminative", unlabelled_weight=0.1,
                                         unlabelled_objective="entropy"),
    "hybrid (alpha 0.1)": dict(objective="hybrid", generative_weight=0.1),
    "hybrid + generative 0.1": dict(objective="hybrid", generative_weight=0.1, unlabelled_weight=0.1),
    "hybrid + entropy 0.1": dict(objective="hybrid", generative_weight=0.1, unlabelled_weight=0.1,
                                 unlabelled_objective="entropy"),
    "discriminative + information 0.1": dict(objective="discriminative", unlabelled_weight=0.1,
                                             unlabelled_objective="information"),
    "discriminative + information 0.3": dict(objective="discriminative", unlabelled_weight=0.3,
                                             unlabelled_objective="information"),
    "hybrid + information 0.1": dict(objective="hybrid", generative_weight=0.1, unlabelled_weight=0.1,
                                     unlabelled_objective="information"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, nargs="+", default=[50, 100, 300])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=1 / 3, random_state=0, stratify=y)
    rows = {name: [] for name in SETTINGS}
    for n_labels in args.labels:
        few = np.full(len(y_train), -1)
        keep = np.random.default_rng(0).choice(len(y_train), n_labels, replace=False)
        few[keep] = y_train[keep]
        for name, setting in SETTINGS.items():
            start = time.perf_counter()
            model = RBM(100, n_labels=10, n_iter=args.epochs, batch_size=10, learning_rate=0.05, random_state=0,
                        **setting).fit(X_train, few)
            rows[name].append(f"{model.score(X_test, y_test):.3f} ({time.perf_counter() - start:.1f} s)")
    print("| setting | " + " | ".join(f"{n} labels" for n in args.labels) + " |")
    print("| --- |" + " --- |" * len(args.labels))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
