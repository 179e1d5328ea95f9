"""Convolutional DBN on MNIST (issue 41): features of both layers + a linear classifier with 60,000 / 5,000 /
1,000 labels, and denoising of digits with 30% of the pixels flipped beside the dense DBN's ``denoise``.

    python benchmarks/conv.py --data-home ../shared/data --epochs 5          # CPU budget (see BENCHMARKS.md)
    python benchmarks/conv.py --data-home ../shared/data --epochs 100 --device cuda

The features are learned without labels on all training rows; every choice (the classifier's C) is made on
held-out rows of the training set; the test set is used once per row of the table. The fitted CDBN is checkpointed
under --checkpoint-dir, so an interrupted run resumes.
"""
import argparse
import time
from pathlib import Path

import numpy as np

from deepbelief import DBN, ConvDBN
from deepbelief.data.datasets import load_mnist
from deepbelief.reproduce import CDBN, linear_error

parser = argparse.ArgumentParser()
parser.add_argument("--data-home", default=None)
parser.add_argument("--epochs", type=int, default=5, help="CD epochs per layer")
parser.add_argument("--train", type=int, default=60000, help="training rows used for the features")
parser.add_argument("--device", default="cpu")
parser.add_argument("--no-denoise", action="store_true", help="skip the denoising table")
parser.add_argument("--checkpoint-dir", default=str(Path.home() / ".cache/deepbelief-runs/conv"))
args = parser.parse_args()

(X, y), (X_test, y_test) = load_mnist(data_home=args.data_home, download=False, progress=False)
X, y = X[:args.train], y[:args.train]
settings = dict(CDBN, n_iter=args.epochs, random_state=0, device=args.device)  # the reproduce row's settings
print(f"ConvDBN({settings}) on {len(X)} rows", flush=True)
start = time.time()
cdbn = ConvDBN(checkpoint_dir=f"{args.checkpoint_dir}-{args.epochs}-{len(X)}", **settings).fit(X, resume=True)
print(f"fit: {time.time() - start:.0f} s", flush=True)
start = time.time()
F, F_test = cdbn.transform(X, layer="all"), cdbn.transform(X_test, layer="all")
print(f"features {F.shape[1]}: {time.time() - start:.0f} s", flush=True)
print("| labels | test error % | C (validation) |\n| --- | --- | --- |")
for n in (60000, 5000, 1000):
    if n <= len(F):
        error, c = linear_error(F, y, F_test, y_test, n)
        print(f"| {n} | {error:.2f} | {c} |", flush=True)

if args.no_denoise:
    raise SystemExit
# Denoising: binarised test digits, 30% of the pixels flipped; mean squared error against the clean digits.
rng = np.random.default_rng(0)
clean = (X_test[:2000] > 0.5).astype(np.float32)
flip = rng.random(clean.shape) < 0.3
noisy = np.where(flip, 1 - clean, clean).astype(np.float32)
binary = (X > 0.5).astype(np.float32)
start = time.time()
cdbn_binary = ConvDBN(checkpoint_dir=f"{args.checkpoint_dir}-binary-{args.epochs}-{len(X)}", **settings).fit(
    binary, resume=True)
dbn = DBN(hidden_layer_sizes=(500, 500), n_iter=args.epochs, random_state=0, device=args.device).fit(binary)
print(f"\ndenoising models fitted on binarised digits: {time.time() - start:.0f} s")
print("| model | MSE vs clean (noisy input: {:.4f}) |\n| --- | --- |".format(((noisy - clean) ** 2).mean()))
for name, out in (("ConvDBN.denoise (up-down reconstruction)", cdbn_binary.denoise(noisy)),
                  ("DBN(500, 500).denoise (100 Gibbs sweeps)", dbn.denoise(noisy, random_state=0))):
    print(f"| {name} | {((out - clean) ** 2).mean():.4f} |", flush=True)
