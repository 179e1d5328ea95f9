"""The uses the seeds name (issue 6), on digits or MNIST: anomaly detection, denoising, clustering.

    python benchmarks/applications.py [--data digits|mnist] [--seed 0] [--out benchmarks/out]

digits: scikit-learn's digits scaled X/16, train_test_split(test_size=0.2, random_state=0); RBM(256) and
DBN(256, 256), 30 CD epochs per layer. mnist: the first 10,000 training and 2,000 test images of
../shared/data/mnist; RBM(500) and DBN(500, 500), 10 CD epochs per layer. Models are fitted on the training rows
(digits 0-8 only for anomaly detection). Prints Markdown tables; writes denoising_<data>.png (clean / corrupted /
denoised rows).
"""
import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import median_filter
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.svm import OneClassSVM

from deepbelief import DBN, RBM, __version__
from deepbelief.datasets import load_mnist
from deepbelief.plot import plot_samples


def pca_error(pca, X):
    return ((pca.inverse_transform(pca.transform(X)) - X) ** 2).sum(1)


SETTINGS = {"digits": dict(sizes=(256, 256), n_iter=30, side=8), "mnist": dict(sizes=(500, 500), n_iter=10, side=28)}


def anomaly(X_train, y_train, X_test, y_test, seed, sizes, n_iter):
    normal_train, normal_test, nines = X_train[y_train != 9], X_test[y_test != 9], X_test[y_test == 9]
    rng = np.random.default_rng(seed)
    noisy = np.clip(normal_test + rng.normal(0, 0.3, normal_test.shape), 0, 1).astype(np.float32)
    start = time.perf_counter()
    rbm = RBM(n_components=sizes[0], n_iter=n_iter, random_state=seed).fit(normal_train)
    dbn = DBN(hidden_layer_sizes=sizes, n_iter=n_iter, random_state=seed).fit(normal_train)
    fit_s = time.perf_counter() - start
    pca = PCA(30, random_state=seed).fit(normal_train)
    forest = IsolationForest(random_state=seed).fit(normal_train)
    svm = OneClassSVM(gamma="scale", nu=0.1).fit(normal_train)
    scorers = {
        "RBM -free energy": lambda X: rbm.score_samples(X, score="free_energy"),
        "RBM pseudo-log-likelihood": lambda X: rbm.score_samples(X),
        "DBN -free energy (first RBM)": lambda X: dbn.score_samples(X),
        "DBN -reconstruction error": lambda X: dbn.score_samples(X, score="reconstruction"),
        "IsolationForest": forest.score_samples,
        "OneClassSVM": svm.score_samples,
        "PCA(30) -reconstruction error": lambda X: -pca_error(pca, X),
    }
    print(f"\nAnomaly detection: trained on digits 0-8 ({len(normal_train)} rows; RBM + DBN fit {fit_s:.1f} s). "
          "ROC AUC of normal held-out 0-8 vs the outliers.\n")
    print("| scorer | held-out 0-8 vs 9s | vs 0-8 + Gaussian noise (sd 0.3) |")
    print("| --- | --- | --- |")
    for name, score in scorers.items():
        aucs = []
        for outliers in (nines, noisy):
            labels = np.r_[np.ones(len(normal_test)), np.zeros(len(outliers))]
            aucs.append(roc_auc_score(labels, score(np.vstack([normal_test, outliers]))))
        print(f"| {name} | {aucs[0]:.4f} | {aucs[1]:.4f} |", flush=True)


def corrupt(X, kind, rate, rng, image):
    """(corrupted X, boolean mask of the corrupted pixels)."""
    if kind == "salt-and-pepper":
        mask = rng.random(X.shape) < rate
        return np.where(mask, rng.integers(0, 2, X.shape), X).astype(np.float32), mask
    side = int(round(np.sqrt(rate * image * image)))  # a square patch of about `rate` of the image, erased to 0
    mask = np.zeros((len(X), image, image), bool)
    for row, (r, c) in zip(mask, rng.integers(0, image + 1 - side, (len(X), 2))):
        row[r:r + side, c:c + side] = True
    mask = mask.reshape(len(X), image * image)
    return np.where(mask, 0.0, X).astype(np.float32), mask


def denoising(X_train, X_test, seed, out, sizes, n_iter, side, data):
    rng = np.random.default_rng(seed)
    rbm = RBM(n_components=sizes[0], n_iter=n_iter, random_state=seed).fit(X_train)
    dbn = DBN(hidden_layer_sizes=sizes, n_iter=n_iter, random_state=seed).fit(X_train)
    pca = PCA(30, random_state=seed).fit(X_train)
    methods = {
        "corrupted input": lambda Xc, mask: Xc,
        "3x3 median filter": lambda Xc, mask: median_filter(Xc.reshape(-1, side, side),
                                                             size=(1, 3, 3)).reshape(len(Xc), -1),
        "PCA(30) reconstruction": lambda Xc, mask: np.clip(pca.inverse_transform(pca.transform(Xc)), 0, 1),
        "DBN mean-field up-down (blind)": lambda Xc, mask: dbn.denoise(Xc),
        "RBM denoise with the mask": lambda Xc, mask: rbm.denoise(Xc, mask=mask, random_state=seed),
        "DBN denoise with the mask": lambda Xc, mask: dbn.denoise(Xc, mask=mask, random_state=seed),
    }
    settings = [(kind, rate) for kind in ("salt-and-pepper", "occlusion") for rate in (0.1, 0.3, 0.5)]
    corrupted = {s: corrupt(X_test, *s, rng, side) for s in settings}
    print(f"\nDenoising: mean squared error per image (sum over the {side * side} pixels) to the clean held-out "
          "digits. "
          "'with the mask' = the corrupted pixels are known (inpainting); the others are blind.\n")
    print("| method | " + " | ".join(f"{k} {r:.0%} ({m.mean():.0%} of pixels)" for (k, r), (_, m) in
                                     corrupted.items()) + " |")
    print("| --- |" + " --- |" * len(settings))
    shown = []
    for name, method in methods.items():
        errors = []
        for setting in settings:
            Xc, mask = corrupted[setting]
            restored = method(Xc, mask)
            errors.append(((restored - X_test) ** 2).sum(1).mean())
            if setting == ("occlusion", 0.3) and name in ("corrupted input", "DBN denoise with the mask"):
                shown.append(restored[:10])
        print(f"| {name} | " + " | ".join(f"{e:.2f}" for e in errors) + " |", flush=True)
    plot_samples(np.vstack([X_test[:10], *shown]), save=Path(out) / f"denoising_{data}.png")


def clustering(X_train, y_train, seed, sizes, n_iter):
    dbn = DBN(hidden_layer_sizes=sizes, n_iter=n_iter, random_state=seed).fit(X_train)
    features = {"raw pixels": X_train, "PCA(30)": PCA(30, random_state=seed).fit_transform(X_train),
                "DBN top-layer codes": dbn.transform(X_train), "DBN first-layer codes": dbn.transform(X_train, 0)}
    print("\nClustering: KMeans(10, n_init=10) on the training digits; agreement with the true digit.\n")
    print("| features | adjusted Rand index | NMI |")
    print("| --- | --- | --- |")
    for name, Z in features.items():
        labels = KMeans(10, n_init=10, random_state=seed).fit_predict(Z)
        print(f"| {name} | {adjusted_rand_score(y_train, labels):.4f} | "
              f"{normalized_mutual_info_score(y_train, labels):.4f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(SETTINGS), default="digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/out")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.data == "digits":
        X, y = load_digits(return_X_y=True)
        X = (X / 16).astype(np.float32)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    else:
        (X_train, y_train), (X_test, y_test) = load_mnist("../shared/data", progress=False)
        X_train, y_train, X_test, y_test = X_train[:10000], y_train[:10000], X_test[:2000], y_test[:2000]
    setting = SETTINGS[args.data]
    print(f"deepbelief {__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{platform.processor() or platform.machine()}, {args.data}, seed {args.seed}")
    start = time.perf_counter()
    anomaly(X_train, y_train, X_test, y_test, args.seed, setting["sizes"], setting["n_iter"])
    denoising(X_train, X_test, args.seed, args.out, setting["sizes"], setting["n_iter"], setting["side"], args.data)
    clustering(X_train, y_train, args.seed, setting["sizes"], setting["n_iter"])
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
