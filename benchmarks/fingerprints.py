"""Do the recipes still train to the same bits? SHA-256 of the trained parameters of every estimator recipe.

    python benchmarks/fingerprints.py [--save DIR] [--check DIR] [--mnist DATA_DIR]

Each recipe trains on scikit-learn's digits (X/16, or raw for Gaussian units) at a small budget and prints the
SHA-256 of its model file's tensors (names and bytes, in name order). Run it before and after a refactoring: equal
hashes mean bit-identical training. ``--save DIR`` also writes each model file and its outputs on the digits there;
``--check DIR`` loads the model files saved by an earlier version and asserts that they predict identically.
``--mnist DATA_DIR`` adds the MNIST table's rows (``deepbelief.reproduce``) at a tiny budget, hashed by their results.
"""
import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from sklearn.datasets import load_digits

import deepbelief as db
from deepbelief import compat


def _digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), X.astype(np.float32), y


def _sequences():
    from deepbelief.datasets import make_bouncing_balls

    return make_bouncing_balls(n_sequences=4, n_frames=30, size=8, n_balls=1, random_state=0)


def recipes():
    """{name: fit() -> fitted estimator}."""
    X, raw, y = _digits()
    small = dict(random_state=0)
    semi = np.where(np.arange(len(y)) % 10 == 0, y, -1)

    def streamed(estimator, *args):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "X.npy"
            np.save(path, X)
            return estimator.fit(str(path), *args)

    def checkpointed(estimator, *args):
        with tempfile.TemporaryDirectory() as folder:
            return estimator.set_params(checkpoint_dir=folder).fit(*args)

    def up_down():
        dbn = db.DBN((32, 16), n_labels=10, n_iter=2, **small).fit(X, y)
        return dbn.fine_tune_up_down(X, y, n_iter=2, k=3, random_state=0)

    def sequences(estimator):
        return estimator.fit(_sequences())

    return {
        "rbm_cd1": lambda: db.RBM(32, n_iter=3, **small).fit(X),
        "rbm_pcd_sparse_cosine": lambda: db.RBM(32, n_iter=3, k=2, persistent=True, sparsity_cost=0.1,
                                                lr_schedule="cosine", validation_fraction=0.1, **small).fit(X),
        "rbm_centering": lambda: db.RBM(32, n_iter=3, centering=True, weight_decay=5e-4, **small).fit(X),
        "rbm_gaussian": lambda: db.RBM(32, visible="gaussian", n_iter=3, **small).fit(raw),
        "rbm_relu_hidden": lambda: db.RBM(32, hidden="relu", n_iter=3, **small).fit(X),
        "rbm_gaussian_hidden": lambda: db.RBM(8, hidden="gaussian", n_iter=3, **small).fit(X),
        "rbm_labels": lambda: db.RBM(32, n_labels=10, n_iter=3, **small).fit(X, y),
        "rbm_partial_fit": lambda: db.RBM(32, **small).partial_fit(X[:100]).partial_fit(X[100:200]),
        "dbn_mean": lambda: db.DBN((32, 16), n_iter=2, **small).fit(X),
        "dbn_sample_pcd": lambda: db.DBN((32, 16), n_iter=2, propagate="sample", persistent=True, **small).fit(X),
        "dbn_gaussian": lambda: db.DBN((32, 16), visible="gaussian", n_iter=2, **small).fit(raw),
        "dbn_relu": lambda: db.DBN((32, 16), hidden="relu", n_iter=2, **small).fit(X),
        "dbn_labels": lambda: db.DBN((32, 16), n_labels=10, n_iter=2, **small).fit(X, semi),
        "dbn_checkpointed": lambda: checkpointed(db.DBN((32, 16), n_iter=2, **small), X),
        "dbn_streamed": lambda: streamed(db.DBN((32, 16), n_iter=2, **small)),
        "dbn_up_down": up_down,
        "clf_default": lambda: db.DBNClassifier((32, 32), n_iter=2, max_iter=3, **small).fit(X, y),
        "clf_rbm_dropout_ema": lambda: db.DBNClassifier((32, 32), pretrain="rbm", n_iter=2, max_iter=3, dropout=0.2,
                                                        input_dropout=0.1, ema_decay=0.99, **small).fit(X, y),
        "clf_sigmoid_sgd_early": lambda: db.DBNClassifier((32, 32), activation="sigmoid", optimizer="sgd",
                                                          n_iter=2, max_iter=4, early_stopping=True,
                                                          n_iter_no_change=2, **small).fit(X, y),
        "clf_random_init": lambda: db.DBNClassifier((32, 32), pretrain=False, max_iter=3, **small).fit(X, y),
        "clf_semi_checkpointed": lambda: checkpointed(db.DBNClassifier((32, 32), n_iter=2, max_iter=3, **small),
                                                      X, semi),
        "clf_gaussian_streamed": lambda: streamed(db.DBNClassifier((32,), visible="gaussian", n_iter=2, max_iter=2,
                                                                   **small), y),
        "regressor": lambda: db.DBNRegressor((32,), n_iter=2, max_iter=3, **small).fit(X[:, :48], X[:, 48:].sum(1)),
        "autoencoder": lambda: db.DeepAutoencoder((32, 8), n_iter=2, max_iter=3, **small).fit(X),
        "anomaly": lambda: db.AnomalyDetector(model=db.RBM(16, n_iter=2, **small)).fit(X),
        "conditional_rbm": lambda: sequences(db.ConditionalRBM(16, order=2, n_iter=2, **small)),
        "conditional_dbn": lambda: sequences(db.ConditionalDBN((16, 8), order=2, n_iter=2, **small)),
        "compat_tutorial": lambda: compat.SupervisedDBNClassification(
            hidden_layers_structure=[32, 32], learning_rate_rbm=0.05, learning_rate=0.1, n_epochs_rbm=2,
            n_iter_backprop=3, batch_size=32, activation_function="relu", dropout_p=0.2, verbose=False,
            random_state=0).fit(X, y),
    }


def tensors_hash(path):
    digest = hashlib.sha256()
    with safe_open(str(path), framework="pt") as f:
        for name in sorted(f.keys()):
            digest.update(name.encode())
            digest.update(f.get_tensor(name).contiguous().numpy().tobytes())
    return digest.hexdigest()


def outputs(model, X, raw):
    """What users read from a fitted model, on 50 digits (in the units it was trained on) or one sequence:
    {'_input': the rows, method: its result}."""
    if isinstance(model, (db.ConditionalRBM, db.ConditionalDBN)):
        data = _sequences()[0]
    else:
        data = (raw if getattr(model, "visible", None) == "gaussian" else X)[:50]
        data = data[:, :48] if isinstance(model, db.DBNRegressor) else data
    out = {"_input": data}
    for method in ("predict", "predict_proba", "transform", "score_samples", "decision_function", "reconstruct"):
        if hasattr(model, method):
            out[method] = np.asarray(getattr(model, method)(data))
    return out


def mnist_rows(data_home):
    """The MNIST table's rows at a tiny budget: {row: SHA-256 of its results (times left out)}."""
    from deepbelief import reproduce

    tiny = replace(reproduce.QUICK, n_train=600, pretrain_epochs=1, fine_tune_epochs=2, dropout_epochs=2,
                   up_down_stages=((1, 3),), semi_supervised_updates=10, rbm_epochs=1, ais_runs=4, ais_betas=50,
                   autoencoder_pretrain_epochs=1, autoencoder_epochs=2)
    reproduce.QUICK = tiny
    records, _ = reproduce.run_table(quick=True, data_home=data_home)
    hashes = {}
    for record in records:
        record.pop("seconds")
        hashes[f"mnist_{record['row']}"] = hashlib.sha256(json.dumps(record, sort_keys=True, default=str)
                                                          .encode()).hexdigest()
    return hashes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", help="write the model files and their outputs into this folder")
    parser.add_argument("--check", help="load the model files saved here and compare their outputs")
    parser.add_argument("--mnist", help="also hash the MNIST table's rows, with the IDX files in this folder")
    parser.add_argument("--only", help="comma-separated recipe names")
    args = parser.parse_args()
    X, raw, _ = _digits()
    if args.check:
        failed = 0
        for path in sorted(Path(args.check).glob("*.dbn")):
            model = (compat.SupervisedDBNClassification.load(path) if path.stem.startswith("compat")
                     else db.load(path))
            saved = np.load(path.with_suffix(".npz"), allow_pickle=False)
            same = all(np.array_equal(getattr(model, k)(saved["_input"]), saved[k]) for k in saved.files if k != "_input")
            failed += not same
            print(f"{path.stem}: {'same outputs' if same else 'DIFFERENT'}")
        sys.exit(1 if failed else 0)
    print(f"deepbelief {db.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    chosen = set(args.only.split(",")) if args.only else None
    hashes = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, fit in recipes().items():
            if chosen and name not in chosen:
                continue
            start = time.perf_counter()
            model = fit()
            path = Path(args.save or folder) / f"{name}.dbn"
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
            hashes[name] = tensors_hash(path)
            if args.save:
                np.savez(path.with_suffix(".npz"), **outputs(model, X, raw))
            print(f"{name:28s} {hashes[name]}  {time.perf_counter() - start:5.1f} s", flush=True)
    if args.mnist:
        for name, digest in mnist_rows(args.mnist).items():
            print(f"{name:28s} {digest}", flush=True)


if __name__ == "__main__":
    main()
