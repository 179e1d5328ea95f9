"""More up-down epochs on a saved DBN with label units (issue 12): does it under- or overfit, and does a larger
rate help?

    python benchmarks/up_down_more.py --model FILE [--data ../shared/data] [--epochs 10] [--learning-rate 0.01]
        [--k 10] [--seed 0]

Loads the DBN (for instance the up-down row's `<out>/checkpoints/up_down-<key>-stage3.dbn`), prints its training
and test error, continues `fine_tune_up_down` on all 60,000 MNIST training rows for the given epochs, and prints
both errors again. Nothing is saved.
"""
import argparse
import time

from deepbelief import load
from deepbelief.datasets import load_mnist
from deepbelief.reproduce import _error


def errors(model, X, y, X_test, y_test):
    return f"train {_error(model, X, y):.2f} %, test {_error(model, X_test, y_test):.2f} %"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    (X, y), (X_test, y_test) = load_mnist(args.data, progress=False)
    dbn = load(args.model)
    print(f"before: {errors(dbn, X, y, X_test, y_test)}")
    start = time.perf_counter()
    dbn.fine_tune_up_down(X, y, n_iter=args.epochs, learning_rate=args.learning_rate, k=args.k,
                          random_state=args.seed)
    print(f"after {args.epochs} epochs (rate {args.learning_rate}, CD-{args.k}, {time.perf_counter() - start:.0f} s):"
          f" {errors(dbn, X, y, X_test, y_test)}")


if __name__ == "__main__":
    main()
