"""Checkpoints of a training in progress: everything needed to continue it bit for bit (parameters, optimiser
state, random generator states, progress), in one safetensors file with JSON metadata, written atomically (a
temporary file, fsync, rename), so a training killed at any moment leaves the previous checkpoint intact."""
import hashlib
import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from .errors import ModelFileError
from .io import write_atomic

FORMAT = "deepbelief-checkpoint"


def fingerprint(*arrays):
    """sha256 of the shapes, dtypes and bytes of the training data, to refuse resuming on other data."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes() if a.dtype.kind != "O" else str(a.tolist()).encode())
    return h.hexdigest()


def write(path, tensors, state):
    """Write ``tensors`` (name -> tensor, any dtype) and the JSON-able ``state`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    write_atomic(path, save_bytes(tensors, metadata={"format": FORMAT, "state": json.dumps(state)}))


def read_matching(path, key, params, defaults=None):
    """(tensors, state) of the checkpoint at ``path`` when it was written while fitting the data ``key`` with the
    hyperparameters ``params``; None when there is no checkpoint; ValueError when it belongs to another fit.
    A hyperparameter the checkpoint lacks (one added to the estimator since) counts as its value in ``defaults``."""
    if path is None:
        raise ValueError("resume=True needs checkpoint_dir, the folder of the interrupted fit's checkpoints")
    if not path.exists():
        return None
    tensors, state = read(path)
    if state.get("fingerprint") != key:
        raise ValueError(f"the checkpoint {str(path)!r} was written while fitting other data; refusing to resume")
    saved = state.get("params")
    if isinstance(saved, dict):
        saved = {**{k: v for k, v in (defaults or {}).items() if k in params}, **saved}
    if saved != params:
        raise ValueError(f"the checkpoint {str(path)!r} was written with other hyperparameters; refusing to resume")
    return tensors, state


def read(path):
    """(tensors, state) of a checkpoint; ModelFileError for a damaged or foreign file."""
    try:
        data = Path(path).read_bytes()
        size = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8:8 + size]).get("__metadata__", {})
        if metadata.get("format") != FORMAT:
            raise ValueError("not a deepbelief checkpoint")
        return load_bytes(data), json.loads(metadata["state"])
    except (OSError, ValueError, KeyError, AttributeError, SafetensorError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"cannot resume from {str(path)!r}: {exc}") from None

