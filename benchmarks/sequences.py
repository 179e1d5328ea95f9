"""Sequences (issue 13): next-frame prediction on held-out bouncing-balls video and walking motion, and generation.

    python benchmarks/sequences.py [--data motion,balls] [--seed 0] [--out benchmarks/results]

Measure: squared one-step-ahead prediction error per frame, summed over the features, on held-out sequences
(data units: radians for motion, pixel intensities in [0, 1] for video). Every model predicts the same frames
(those with at least ``context`` earlier frames, the longest history any model here uses). Baselines: copying the
last frame, and a linear autoregressive model of the same order (scikit-learn RidgeCV, alpha chosen by
leave-one-out over 1e-3..1e3). Then 200 frames are generated from held-out seeds; the table reports their value
range and per-feature standard deviation next to the data's, and frame strips are written to --out.
"""
import argparse
import platform
import time

import numpy as np
import torch
from sklearn.linear_model import RidgeCV

from deepbelief import ConditionalDBN, ConditionalRBM, __version__
from deepbelief.datasets import WALKING_CHANNELS, make_bouncing_balls, make_walking_motion
from deepbelief.estimators.sequence import windows
from deepbelief.plot import plot_sequence, save_animation

SETTINGS = {
    "motion": dict(make=lambda n, f, seed: make_walking_motion(n, f, random_state=seed), train=(40, 200),
                   test=(10, 200), crbm=dict(n_components=100, order=5, learning_rate=2e-2, n_iter=100),
                   cdbn=dict(hidden_layer_sizes=(100, 100), order=(5, 2), hidden="relu", learning_rate=3e-3,
                             n_iter=100),
                   visible="gaussian"),
    "balls": dict(make=lambda n, f, seed: make_bouncing_balls(n, f, random_state=seed), train=(60, 100),
                  test=(10, 100), crbm=dict(n_components=200, order=2, learning_rate=2e-2, n_iter=20),
                  cdbn=dict(hidden_layer_sizes=(200, 100), order=(2, 1), learning_rate=2e-2, n_iter=20),
                  visible="bernoulli"),
}


def error(predictions, sequences, skip):
    """Mean over frames of the squared error summed over features; ``predictions[i][j]`` is the prediction of
    frame ``skip + j`` of sequence i after trimming each model's first predictions to a common start."""
    return float(np.mean(np.concatenate([((p - s[skip:]) ** 2).sum(1) for p, s in zip(predictions, sequences)])))


def ridge_predictions(train, test, order, context):
    n = train.shape[2]
    rows = np.concatenate([windows(s, order) for s in train])
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 7)).fit(rows[:, n:], rows[:, :n])
    return [ridge.predict(windows(s, order)[context - order:, n:]) for s in test], ridge.alpha_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="motion,balls")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    print(f"deepbelief {__version__}, torch {torch.__version__}, {platform.processor() or 'cpu'}, "
          f"{torch.get_num_threads()} CPU threads")
    for name in args.data.split(","):
        s = SETTINGS[name]
        train, test = s["make"](*s["train"], args.seed), s["make"](*s["test"], args.seed + 1)
        crbm_order, cdbn_orders = s["crbm"]["order"], s["cdbn"]["order"]
        context = max(crbm_order, sum(cdbn_orders))
        n_frames = sum(len(t) - context for t in test)
        print(f"\n## {name}: train {s['train'][0]} x {s['train'][1]} frames, test {s['test'][0]} x {s['test'][1]} "
              f"({n_frames} predicted frames), {train.shape[2]} features\n")
        print("| model | squared error per frame | fit s |")
        print("| --- | --- | --- |")
        print(f"| copy the last frame | {error([t[context - 1:-1] for t in test], test, context):.4f} | - |")
        for order in sorted({crbm_order, sum(cdbn_orders)}):
            predictions, alpha = ridge_predictions(train, test, order, context)
            print(f"| linear AR, order {order} (RidgeCV, alpha {alpha:g}) | {error(predictions, test, context):.4f} "
                  "| - |")
        models = [("ConditionalRBM", ConditionalRBM(visible=s["visible"], random_state=args.seed, **s["crbm"]),
                   crbm_order),
                  ("ConditionalDBN", ConditionalDBN(visible=s["visible"], random_state=args.seed, **s["cdbn"]),
                   sum(cdbn_orders))]
        for label, model, own in models:
            start = time.perf_counter()
            model.fit(list(train))
            fit_s = time.perf_counter() - start
            settings = s["crbm" if label == "ConditionalRBM" else "cdbn"]
            for n_samples in (0, 50):
                predictions = [p[context - own:] for p in model.predict(list(test), n_samples=n_samples)]
                how = "mean-field" if not n_samples else f"mean of {n_samples} Gibbs chains"
                print(f"| {label} {settings}, {how} | {error(predictions, test, context):.4f} | {fit_s:.0f} |")
            generated = model.generate(test[:, :context], n_steps=200, random_state=args.seed)
            data_std, gen_std = test.std((0, 1)).mean(), generated[:, -100:].std((0, 1)).mean()
            print(f"| {label}: 200 generated frames x {len(generated)} | range [{generated.min():.2f}, "
                  f"{generated.max():.2f}] (data [{test.min():.2f}, {test.max():.2f}]); mean per-feature std of "
                  f"frames 101-200 {gen_std:.3f} (data {data_std:.3f}) | - |")
            if label == "ConditionalRBM":
                strip = f"{args.out}/crbm_{name}_generated.png"
                if name == "balls":
                    plot_sequence(generated[0], n_frames=20, save=strip)
                    save_animation(generated[0][:100], f"{args.out}/crbm_{name}_generated.gif", fps=10)
                else:
                    plot_sequence(generated[0], channel_names=list(WALKING_CHANNELS), save=strip)
        print(f"\nstrip of the ConditionalRBM's generated sequence 0: {strip}")


if __name__ == "__main__":
    main()
