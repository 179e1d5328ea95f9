"""Classification RBMs on MNIST (issue 42): discriminative, hybrid and sparse hybrid training of one RBM with label
units (Larochelle & Bengio 2008): validation and test error of the final model.

    python benchmarks/classification_rbm.py --data-home ../shared/data [--rows drbm,hdrbm] [--epochs 30]

Every row trains on the first 50,000 training images, holds out the last 10,000 for validation (reported at the
end, used for nothing else) and reports the error on the 10,000 test images. Pixels are intensities in [0, 1].
"""
import argparse
import time

from deepbelief import RBM
from deepbelief.data.datasets import load_mnist
from deepbelief.reproduce import CLASSIFICATION_RBM as COMMON, CLASSIFICATION_RBMS as ROWS

PUBLISHED = {"drbm": 1.81, "hdrbm": 1.28, "sparse_hdrbm": 1.16}  # % test error, Larochelle & Bengio 2008

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-home", default=None)
parser.add_argument("--rows", default="drbm,hdrbm")
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

(X, y), (X_test, y_test) = load_mnist(data_home=args.data_home, download=False, progress=False)
X_valid, y_valid, X, y = X[50000:], y[50000:], X[:50000], y[:50000]
print("| row | settings | epochs | validation error % | test error % | published % | fit s |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for name in args.rows.split(","):
    params, published = ROWS[name], PUBLISHED[name]
    model = RBM(n_iter=args.epochs, device=args.device, random_state=0, **COMMON, **params)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    valid_error = 100 * (1 - model.score(X_valid, y_valid))
    test_error = 100 * (1 - model.score(X_test, y_test))
    losses = " ".join(f"{h['log_loss']:.3f}" if "log_loss" in h else "" for h in model.history_[::5])
    settings = ", ".join(f"{k}={v}" for k, v in {**params, **COMMON}.items() if k not in ("n_labels",))
    print(f"| {name} | {settings} | {args.epochs} | {valid_error:.2f} | {test_error:.2f} | {published} | "
          f"{seconds:.0f} |", flush=True)
    print(f"<!-- {name}: training log loss every 5 epochs: {losses} -->", flush=True)
