"""Training samplers side by side at equal wall-clock (issue 42): CD-25, PCD, fast-weights PCD and parallel tempering
on an RBM with 500 hidden units on stochastically binarised MNIST, each bracketed by AIS and RAISE.

    python benchmarks/samplers.py --data-home ../shared/data [--seconds 300] [--betas 14501] [--raise-rows 500]
                                  [--schedule linear]

Every sampler trains for the same number of seconds (mini-batches of 100 through ``partial_fit``, learning rate
0.05, momentum 0.9 after the first, no decay; or with ``--schedule linear``, ``fit`` for as many epochs as the
sampler's measured time per update allows in the budget, the rate decayed linearly to 0 over them, which persistent
chains need), then: AIS (100 runs) on the model, RAISE on the first test rows,
both over the same inverse temperatures (``--betas``: 14,501 = the paper's schedule, fewer are evenly spaced). Chain
mixing: the number of digit classes, judged by a logistic regression on the pixels, among the 100 persistent
chains' mean images at the end (CD-25 keeps no chains).
"""
import argparse
import time

import numpy as np

from deepbelief import RBM
from deepbelief.data.datasets import load_mnist
from deepbelief.evaluate import likelihood_bounds

SAMPLERS = {  # name: (RBM parameters, Gibbs sweeps per update)
    "CD-25": (dict(k=25), 25),
    "PCD-1": (dict(persistent=True), 1),
    "FPCD-1": (dict(sampler="fast"), 1),
    "PT-1 (10 temperatures)": (dict(sampler="tempered", n_temperatures=10), 10),
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-home", default=None)
parser.add_argument("--seconds", type=float, default=300.0)
parser.add_argument("--betas", type=int, default=14501)
parser.add_argument("--raise-rows", type=int, default=500)
parser.add_argument("--only", default=None, help="comma-separated sampler names")
parser.add_argument("--device", default="cpu")
parser.add_argument("--schedule", default=None, choices=[None, "linear", "cosine"],
                    help="fit() with this learning-rate schedule over the epochs the budget allows")
args = parser.parse_args()

(X, y), (X_test, y_test) = load_mnist(args.data_home, binarize="stochastic", random_state=0, download=False,
                                      progress=False)
betas = None if args.betas == 14501 else np.linspace(0, 1, args.betas)
judge = None
print(f"{args.seconds:.0f} s of training each; AIS 100 runs and RAISE on {args.raise_rows} test rows x 2 runs, "
      f"{args.betas} temperatures\n")
print("| sampler | sweeps / update | updates | seconds | RAISE (lower end) | AIS estimate (upper end) | classes in 100 "
      "chains |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for name, (params, sweeps) in SAMPLERS.items():
    if args.only and name.split(" ")[0] not in args.only.split(","):
        continue
    rbm = RBM(500, learning_rate=0.05, momentum=0.9, final_momentum=0.9, weight_decay=0.0, device=args.device,
              random_state=0, **params)
    order, updates, start = np.random.default_rng(0).permutation(len(X)), 0, time.perf_counter()
    if args.schedule:
        probe = RBM(**rbm.get_params())  # the time of one update, from 20 of them on a copy
        probe.partial_fit(X[order[:100]])
        tick = time.perf_counter()
        for i in range(1, 21):
            probe.partial_fit(X[order[i * 100:(i + 1) * 100]])
        per_update = (time.perf_counter() - tick) / 20
        epochs = max(1, round(args.seconds / (per_update * len(X) / 100)))
        start = time.perf_counter()
        rbm.set_params(n_iter=epochs, batch_size=100, lr_schedule=args.schedule, momentum=0.5,
                       momentum_switch=1).fit(X)
        updates = epochs * -(-len(X) // 100)
    else:
        while time.perf_counter() - start < args.seconds:
            rows = order[(updates * 100) % len(X):][:100]
            rbm.partial_fit(X[rows])
            updates += 1
    seconds = time.perf_counter() - start
    bounds = likelihood_bounds(rbm, X_test[:args.raise_rows], ais_runs=100, raise_runs=2, betas=betas, data=X,
                               random_state=0)
    classes = "-"
    chain = getattr(rbm._trainer, "chain", None)
    if chain is not None and not params.get("k"):
        if judge is None:
            from sklearn.linear_model import LogisticRegression
            judge = LogisticRegression(max_iter=200).fit(X[:20000], y[:20000])
        images = rbm.module_.mean_v_given_h(rbm.module_.prob_h_given_v(chain)).cpu().numpy()
        classes = str(len(set(judge.predict(images[:100]).tolist())))
    upper = "inf" if not np.isfinite(bounds.upper) else f"{bounds.upper:.2f}"
    print(f"| {name} | {sweeps} | {updates} | {seconds:.0f} | {bounds.raise_mean:.2f} ({bounds.lower:.2f}) | {bounds.estimate:.2f} "
          f"({upper}) | {classes} |", flush=True)
