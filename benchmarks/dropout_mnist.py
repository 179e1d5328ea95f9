"""Validation curve of the MNIST table's dropout row (issue 12) when early stopping waits longer.

    python benchmarks/dropout_mnist.py [--data ../shared/data] [--patience 200] [--epochs 200] [--device auto]
        [--seed 0] [--optimizer adam] [--learning-rate 1e-3] [--momentum 0.9] [--max-norm None]
        [--dropout 0.5] [--input-dropout 0.2] [--ema-decay None] [--pretraining FILE] [--verbose]

The FULL dropout row (`deepbelief reproduce mnist --rows dropout`) fine-tunes for at most 200 epochs with a cosine
schedule over them and stops after 20 epochs without a better validation score. This script runs the same row
(same pretraining, validation sixth and seed; then the refit on all rows for the best validation epoch count) with
another patience, and prints where the validation accuracy peaked, its value every 10 epochs and both test errors:
whether the dropout network was still improving when the row's early stopping ended it. The optimizer options
replace the row's (Adam 1e-3) to try Srivastava et al.'s kind of recipe: SGD with momentum and max-norm; the
dropout options replace the row's rates (0.5 on the hidden units, 0.2 on the inputs); --ema-decay scores and
keeps a moving average of the weights (DBNClassifier's ema_decay). With --pretraining FILE,
the finished pretraining checkpoint is written to FILE, or read from it when it exists (same data, seed and
pretraining budget only), so that runs that differ in fine-tuning alone pretrain once.
"""
import argparse
import time

import numpy as np

from deepbelief.datasets import load_mnist
from deepbelief.reproduce import FULL, _row_classifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--patience", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=FULL.dropout_epochs)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--max-norm", type=float, default=None)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--input-dropout", type=float, default=0.2)
    parser.add_argument("--ema-decay", type=float, default=None)
    parser.add_argument("--pretraining", default=None)
    parser.add_argument("--verbose", action="store_true", help="progress bars with the latest scores on stderr")
    args = parser.parse_args()
    start = time.perf_counter()
    record = _row_classifier(load_mnist(args.data, progress=False), FULL, args.device, args.seed,
                             dropout=args.dropout, input_dropout=args.input_dropout, max_iter=args.epochs,
                             n_iter_no_change=args.patience, optimizer=args.optimizer,
                             learning_rate=args.learning_rate, max_norm=args.max_norm,
                             pretrained=args.pretraining, ema_decay=args.ema_decay, verbose=args.verbose,
                             **({"momentum": args.momentum} if args.optimizer == "sgd" else {}))
    curve = record["validation_accuracy"]
    best = int(np.argmax(curve))
    print(f"settings: {record['settings']}")
    print(f"epochs run: {len(curve)}, best validation accuracy {curve[best]:.4f} at epoch {best + 1}")
    print("validation accuracy every 10 epochs: " + ", ".join(
        f"{e}: {curve[e - 1]:.4f}" for e in range(10, len(curve) + 1, 10)))
    print(f"test error: {record['value']} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
