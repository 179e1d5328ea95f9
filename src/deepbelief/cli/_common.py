"""What every command of the command line shares: its vocabularies, errors and exit codes, and the readers of
its inputs."""
import argparse
import os

import numpy as np

DATASET_NAMES = ("digits", "mnist", "fashion-mnist")
SCHEDULES = ("constant", "linear", "cosine")


def files():
    from ..data import files as module
    return module

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class CLIError(Exception):
    """A usage or input problem: reported on one line, exit status 2."""


def int_list(text):
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 256,256; got {text!r}") from None
    return sizes


def load_dataset(name):
    if name not in DATASET_NAMES:
        raise CLIError(f"unknown dataset {name!r}; available: {', '.join(DATASET_NAMES)}")
    return files().read_dataset(name)


def read_inputs(source, target, with_target, labels=None):
    """(X, y, image_shape, is_named_dataset, feature names or None without a CSV header) from a dataset name or a
    data file."""
    names = None
    try:
        if source in DATASET_NAMES:
            X, y, shape = load_dataset(source)
            return X, (y if with_target else None), shape, True, None
        X, y, names = files().read_table(source, target, with_target)
        if labels is not None:
            y = files().read_idx(labels).ravel().astype(np.int64)
            if len(y) != len(X):
                raise CLIError(f"{labels} has {len(y)} labels but {source} has {len(X)} rows")
    except files().DataError as exc:
        raise CLIError(str(exc)) from None
    side = int(round(np.sqrt(X.shape[1])))
    return X, y, ((side, side) if side * side == X.shape[1] else None), False, names


def fit_scaler(kind, X):
    if kind == "minmax":
        low, high = X.min(0), X.max(0)
        return {"kind": "minmax", "low": low.tolist(), "span": np.where(high > low, high - low, 1.0).tolist()}
    return {"kind": kind}


def apply_scaler(scaler, X):
    if scaler.get("kind") == "minmax":
        return np.clip((X - np.asarray(scaler["low"], np.float32)) / np.asarray(scaler["span"], np.float32), 0, 1)
    return X


def is_main():
    from .. import distributed

    return distributed.is_main_process()


def check_layers_fit(layers, n_features, device, option="--layers"):
    """CLIError when the weights of ``layers`` on ``n_features`` inputs alone cannot fit in this machine's memory
    (on the CPU; a GPU's memory is checked by the allocator)."""
    if str(device) not in ("cpu", "auto") or not hasattr(os, "sysconf"):
        return
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    layers = [layers] if isinstance(layers, int) else list(layers)
    if not all(isinstance(size, int) for size in layers):
        return  # the estimator's own parameter check names the problem
    sizes = [n_features, *layers]
    weights = sum(a * b for a, b in zip(sizes, sizes[1:])) * 4 * 2  # float32 weights and their update buffers
    if weights > memory:
        raise CLIError(f"{option} {','.join(map(str, layers))} on {n_features} inputs needs {weights / 2**30:.0f} GiB "
                       f"for its weights alone; this machine has {memory / 2**30:.0f} GiB. Use smaller layers")
