"""Digits classification, side by side (issue 4): accuracy and fit time over several seeds.

    python benchmarks/digits.py [--seeds 5] [--rows 1,2,3,4,5,6]

Data: scikit-learn's digits scaled X/16, train_test_split(test_size=0.2, random_state=0). Each fit is timed
alone, one after another, in this process (torch uses all cores). Prints a Markdown table.
"""
import argparse
import platform
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline

from deepbelief import DBNClassifier, __version__
from deepbelief.compat import SupervisedDBNClassification

TUTORIAL = dict(hidden_layers_structure=[256, 256], learning_rate_rbm=0.05, learning_rate=0.1, n_epochs_rbm=10,
                n_iter_backprop=100, batch_size=32, activation_function="relu", dropout_p=0.2, verbose=False)


def rows():
    return {
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
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    print(f"deepbelief {__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{platform.processor() or platform.machine()}, {args.seeds} seeds")
    print("| row | model | median acc | mean | min | max | test errors, all seeds | median fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for number in [int(r) for r in args.rows.split(",")]:
        name, make, semi = rows()[number]
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


if __name__ == "__main__":
    main()
