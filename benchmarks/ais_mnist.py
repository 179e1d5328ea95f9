"""AIS average test log-likelihood of RBMs on binarised MNIST (issue 7), after CD-1, CD-25 and PCD training.

    python benchmarks/ais_mnist.py [--data ../shared/data] [--settings cd1,cd25,pcd] [--epochs 50]
        [--hidden 500] [--learning-rate 0.05] [--lr-schedule constant] [--weight-decay 1e-4] [--runs 100]
        [--validation 0] [--device auto] [--seed 0] [--save DIR] [--model FILE] [--k K] [--centering]

MNIST binarised stochastically once (seed 0), as in Salakhutdinov & Murray (2008), whose CD-25 RBM with 500 hidden
units reaches -86.34 nats. Each RBM: batch 100, momentum 0.5 -> 0.9, the stated weight decay, epochs,
learning rate and schedule ('linear' decays it to 0 over the epochs). AIS: 100 runs, the paper's 14,501
temperatures, base model from the training data's marginals. `--validation N` holds the last N training rows out
of training and reports their log-likelihood too, so that settings can be chosen without the test rows.
`--save DIR` keeps each trained RBM as DIR/<setting>.rbm; `--model FILE` evaluates such a file instead of training
(e.g. again with more AIS runs or another seed; the training options are then ignored). `--k K` replaces the
settings' Gibbs steps (PCD-K); `--centering` trains with the centred gradient (`RBM(centering=True)`). Prints a
Markdown table.
"""
import argparse
import platform
import time
from pathlib import Path

import torch

from deepbelief import RBM, __version__, load
from deepbelief._runtime import resolve_device
from deepbelief.datasets import load_mnist
from deepbelief.evaluate import ais, log_likelihood

SETTINGS = {"cd1": dict(k=1), "cd25": dict(k=25), "pcd": dict(k=1, persistent=True)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--settings", default="cd1,cd25,pcd")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--lr-schedule", default="constant", choices=["constant", "linear", "cosine"])
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--validation", type=int, default=0, help="training rows held out to choose settings by")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="folder to keep the trained RBMs in")
    parser.add_argument("--model", default=None, help="a saved RBM to evaluate instead of training")
    parser.add_argument("--k", type=int, default=None, help="Gibbs steps, replacing the settings' own")
    parser.add_argument("--centering", action="store_true", help="the centred gradient")
    args = parser.parse_args()
    (X, _), (X_test, _) = load_mnist(args.data, binarize="stochastic", random_state=0, progress=False)
    if not 0 <= args.validation < len(X):
        parser.error(f"--validation must be between 0 and {len(X) - 1}, got {args.validation}")
    X, X_val = X[:len(X) - args.validation], X[len(X) - args.validation:]
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"deepbelief {__version__}, torch {torch.__version__}, device {device} ({name})", flush=True)
    print("| training | epochs | rate, schedule, weight decay | AIS log Z (lower, upper) | train log-lik | "
          "validation log-lik | test log-lik | train s | AIS s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for setting in [args.model] if args.model else args.settings.split(","):
        start = time.perf_counter()
        if args.model:
            rbm = load(args.model, device=args.device)
        else:
            rbm = RBM(n_components=args.hidden, learning_rate=args.learning_rate, lr_schedule=args.lr_schedule,
                      n_iter=args.epochs, batch_size=100, weight_decay=args.weight_decay, device=args.device,
                      centering=args.centering, random_state=args.seed,
                      **{**SETTINGS[setting], **({"k": args.k} if args.k else {})}).fit(X)
            if args.save:
                Path(args.save).mkdir(parents=True, exist_ok=True)
                rbm.save(Path(args.save) / f"{setting}.rbm")
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        estimate = ais(rbm, n_runs=args.runs, data=X, random_state=args.seed)
        ais_s = time.perf_counter() - start
        train_ll = log_likelihood(rbm, X, estimate.log_z).mean()
        val_ll = f"{log_likelihood(rbm, X_val, estimate.log_z).mean():.2f}" if len(X_val) else "none held out"
        test_ll = log_likelihood(rbm, X_test, estimate.log_z).mean()
        label = f"{setting} (k={rbm.k}{', centred' if rbm.centering else ''})"
        print(f"| {label} | {rbm.n_iter} | {rbm.learning_rate}, {rbm.lr_schedule}, "
              f"{rbm.weight_decay:g} | "
              f"{estimate.log_z:.2f} ({estimate.lower:.2f}, {estimate.upper:.2f}) | "
              f"{train_ll:.2f} | {val_ll} | {test_ll:.2f} | {train_s:.0f} | {ais_s:.0f} |", flush=True)


if __name__ == "__main__":
    main()
