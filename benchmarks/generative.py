"""Generative DBNs on digits (issue 5): the generative classifier before/after up-down fine-tuning, beside a
DBNClassifier; how often generated digits of each requested class are recognised as that class; a picture.

    python benchmarks/generative.py [--seeds 3] [--up-down 30,100] [--out benchmarks/out]

A DBN 64-256-256 with 10 label units (30 pretraining epochs per layer) is fitted on the training split
(train_test_split(test_size=0.2, random_state=0) of digits / 16). Agreement: 100 digits generated per class
(label clamped, 500 burn-in + 100 Gibbs steps, probabilities), classified by a DBNClassifier() trained on the
same split. Prints a Markdown table; writes samples_per_class.png (10 per class, after up-down).
"""
import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepbelief import DBN, DBNClassifier
from deepbelief.plot import plot_samples


def agreement(dbn, judge, seed):
    rates = []
    for c in range(10):
        fakes = dbn.generate(100, label=c, n_gibbs=100, burn_in=500, random_state=seed * 10 + c,
                             return_probabilities=True)
        rates.append(float((judge.predict(fakes) == c).mean()))
    return float(np.mean(rates)), rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--up-down", default="30,100", help="cumulative up-down epochs at which to measure")
    parser.add_argument("--out", default="benchmarks/out")
    args = parser.parse_args()
    checkpoints = [int(e) for e in args.up_down.split(",")]
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    rows = {}
    for seed in range(args.seeds):
        judge = DBNClassifier(random_state=seed).fit(X_train, y_train)
        rows.setdefault("DBNClassifier() (discriminative), test accuracy", []).append(
            (judge.score(X_test, y_test), None, None))
        start = time.perf_counter()
        dbn = DBN(hidden_layer_sizes=(256, 256), n_labels=10, n_iter=30, random_state=seed).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        done = 0
        for epochs in [0, *checkpoints]:
            if epochs > done:
                start = time.perf_counter()
                dbn.fine_tune_up_down(X_train, y_train, n_iter=epochs - done, random_state=seed)
                seconds = time.perf_counter() - start
                done = epochs
            name = "greedy pretraining" if epochs == 0 else f"+ up-down, {epochs} epochs"
            accuracy = float((dbn.predict(X_test) == y_test).mean())
            rows.setdefault(f"DBN(n_labels=10), {name}", []).append((accuracy, agreement(dbn, judge, seed)[0],
                                                                     seconds))
    print(f"digits, {args.seeds} seeds: median over seeds (min-max)")
    print("| model | generative-classifier test accuracy | label agreement of generated digits | fit s |")
    print("| --- | --- | --- | --- |")
    for name, values in rows.items():
        acc = np.array([v[0] for v in values])
        agree = [v[1] for v in values if v[1] is not None]
        secs = [v[2] for v in values if v[2] is not None]
        agree_text = f"{np.median(agree):.3f} ({min(agree):.3f}-{max(agree):.3f})" if agree else "-"
        print(f"| {name} | {np.median(acc):.4f} ({acc.min():.4f}-{acc.max():.4f}) | {agree_text} | "
              f"{np.median(secs):.1f} |" if secs else
              f"| {name} | {np.median(acc):.4f} ({acc.min():.4f}-{acc.max():.4f}) | {agree_text} | - |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fakes = np.concatenate([dbn.generate(10, label=c, n_gibbs=100, burn_in=500, random_state=c,
                                         return_probabilities=True) for c in range(10)])
    plot_samples(fakes, save=out / "samples_per_class.png")
    print(f"wrote {out / 'samples_per_class.png'} (row c: class c, last seed's model)")


if __name__ == "__main__":
    main()
