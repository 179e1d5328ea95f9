"""Generative DBNs on digits (issue 5): the generative classifier before/after up-down fine-tuning, beside a
DBNClassifier; how often generated digits of each requested class are recognised as that class; a picture.

    python benchmarks/generative.py [--seeds 3] [--up-down 30,100] [--out benchmarks/out] [--mnist]

A DBN 64-256-256 with 10 label units (100 pretraining epochs per layer) is fitted on the training split
(train_test_split(test_size=0.2, random_state=0) of digits / 16). Agreement: 100 digits generated per class
(label clamped, 500 burn-in + 100 Gibbs steps), classified by a DBNClassifier() trained on the same split; two
read-outs of the same chains: sampled directed layers (return_probabilities=True) and mean_field=True. Prints a
Markdown table (median over seeds, min-max, and the worst class's rate); writes samples_per_class.png (10 per
class, mean-field read-out, after up-down).

--mnist adds the same rows for MNIST from --data-home (one seed; the first --mnist-rows training rows, the 10,000
test rows; DBN 784-500-500-2000 with 10 label units, --mnist-n-iter pretraining epochs, batch 100, up-down at
--mnist-up-down epochs) and writes mnist_samples_per_class.png.
"""
import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepbelief import DBN, DBNClassifier
from deepbelief.plot import plot_samples


def agreement(dbn, judge, seed, mean_field):
    """(mean over classes, worst class) of the share of generated digits the judge assigns to their label."""
    rates = []
    for c in range(10):
        fakes = dbn.generate(100, label=c, n_gibbs=100, burn_in=500, random_state=seed * 10 + c,
                             return_probabilities=True, mean_field=mean_field)
        rates.append(float((judge.predict(fakes) == c).mean()))
    return float(np.mean(rates)), min(rates)


def epochs(text):
    """'30,100' -> [30, 100]; '' -> [] (no up-down)."""
    return [int(e) for e in text.split(",") if e]


def measure(X_train, y_train, X_test, y_test, seeds, sizes, n_iter, checkpoints, batch_size):
    """{row name: [(accuracy, sampled agreement, mean-field agreement, fit seconds) per seed]}, last DBN."""
    rows = {}
    for seed in range(seeds):
        judge = DBNClassifier(random_state=seed).fit(X_train, y_train)
        rows.setdefault("DBNClassifier() (discriminative), test accuracy", []).append(
            (judge.score(X_test, y_test), None, None, None))
        start = time.perf_counter()
        dbn = DBN(hidden_layer_sizes=sizes, n_labels=10, n_iter=n_iter, batch_size=batch_size, random_state=seed)
        dbn.fit(X_train, y_train)
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
            rows.setdefault(f"DBN(n_labels=10), {name}", []).append(
                (accuracy, agreement(dbn, judge, seed, False), agreement(dbn, judge, seed, True), seconds))
    return rows, dbn


def report(rows, title, dbn, picture):
    print(f"\n{title}: median over seeds (min-max)")
    print("| model | generative-classifier test accuracy | label agreement, sampled read-out (worst class) | "
          "label agreement, mean-field read-out (worst class) | fit s |")
    print("| --- | --- | --- | --- | --- |")
    for name, values in rows.items():
        acc = np.array([v[0] for v in values])
        cells = [name, f"{np.median(acc):.4f} ({acc.min():.4f}-{acc.max():.4f})"]
        for column in (1, 2):
            agree = [v[column] for v in values if v[column] is not None]
            cells.append(f"{np.median([a[0] for a in agree]):.3f} ({min(a[0] for a in agree):.3f}-"
                         f"{max(a[0] for a in agree):.3f}; {min(a[1] for a in agree):.2f})" if agree else "-")
        secs = [v[3] for v in values if v[3] is not None]
        cells.append(f"{np.median(secs):.1f}" if secs else "-")
        print("| " + " | ".join(cells) + " |")
    picture.parent.mkdir(parents=True, exist_ok=True)
    fakes = np.concatenate([dbn.generate(10, label=c, n_gibbs=100, burn_in=500, random_state=c,
                                         mean_field=True) for c in range(10)])
    plot_samples(fakes, save=picture)
    print(f"wrote {picture} (row c: class c, last seed's model)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-iter", type=int, default=100, help="pretraining epochs per layer")
    parser.add_argument("--up-down", default="30,100", help="cumulative up-down epochs at which to measure")
    parser.add_argument("--mnist", action="store_true", help="also the MNIST rows (one seed)")
    parser.add_argument("--data-home", default="../shared/data")
    parser.add_argument("--mnist-rows", type=int, default=10000, help="training rows of MNIST")
    parser.add_argument("--mnist-n-iter", type=int, default=10)
    parser.add_argument("--mnist-up-down", default="10")
    parser.add_argument("--out", default="benchmarks/out")
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    if args.seeds:  # --seeds 0: the MNIST rows only
        rows, dbn = measure(X_train, y_train, X_test, y_test, args.seeds, (256, 256), args.n_iter,
                            epochs(args.up_down), 32)
        report(rows, f"digits, {args.seeds} seeds", dbn, Path(args.out) / "samples_per_class.png")
    if args.mnist:
        from deepbelief.datasets import load_mnist

        (X_train, y_train), (X_test, y_test) = load_mnist(args.data_home, download=False, progress=False)
        rows, dbn = measure(X_train[:args.mnist_rows], y_train[:args.mnist_rows], X_test, y_test, 1,
                            (500, 500, 2000), args.mnist_n_iter, epochs(args.mnist_up_down), 100)
        report(rows, f"MNIST, the first {args.mnist_rows} training rows, DBN 784-500-500-2000 + 10 label units, "
               f"{args.mnist_n_iter} pretraining epochs per layer, batch 100, 1 seed", dbn,
               Path(args.out) / "mnist_samples_per_class.png")


if __name__ == "__main__":
    main()
