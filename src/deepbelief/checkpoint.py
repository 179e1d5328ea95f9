"""Checkpoints of a training in progress: everything needed to continue it bit for bit (parameters, optimiser
state, random generator states, progress), in one safetensors file with JSON metadata, written atomically (a
temporary file, fsync, rename), so a training killed at any moment leaves the previous checkpoint intact.

Read as strictly as model files (:mod:`deepbelief.io`): the header is bounds-checked before anything is
allocated, a SHA-256 binds every tensor's name, dtype, shape and position to its bytes and to the state, float
tensors must be finite, and a damaged or foreign file is a ``ModelFileError`` that names it, never a silently
different training.
"""
import contextlib
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from .errors import ModelFileError
from .io import bound_checksum, read_file, write_atomic

FORMAT = "deepbelief-checkpoint"
FORMAT_VERSION = 2  # 2: with the SHA-256 of header, tensors and state (version 1 had none)
DTYPES = ("F32", "U8")  # values, and the random generators' states


def fingerprint(*arrays):
    """sha256 of the shapes, dtypes and bytes of the training data, to refuse resuming on other data."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        if hasattr(a, "indptr"):  # a SciPy CSR matrix: its shape and the arrays that hold it
            h.update(f"sparse{a.shape}{a.dtype}".encode())
            for part in (a.indptr.astype(np.int64), a.indices.astype(np.int64), np.ascontiguousarray(a.data)):
                h.update(part.tobytes())
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes() if a.dtype.kind != "O" else str(a.tolist()).encode())
    return h.hexdigest()


def write(path, tensors, state):
    """Write ``tensors`` (name -> float32 or uint8 tensor) and the JSON-able ``state`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "state": json.dumps(state)}
    # The tensor entries and bytes do not depend on the metadata, so they are checksummed before the final write.
    metadata["sha256"] = bound_checksum(save_bytes(tensors, metadata=metadata), metadata)
    write_atomic(path, save_bytes(tensors, metadata=metadata))


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


def _refuse(path, why):
    return ModelFileError(f"cannot resume from {str(path)!r}: {why}. Delete it to start the fit over")


def read(path):
    """(tensors, state) of a checkpoint, validated; ModelFileError for a damaged, foreign or older file."""
    path = Path(path)
    try:
        data, header = read_file(path, "deepbelief checkpoint", DTYPES)
    except OSError as exc:
        raise _refuse(path, exc.strerror or str(exc)) from None
    except ModelFileError as exc:
        raise ModelFileError(f"cannot resume: {exc}. Delete it to start the fit over") from None
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise _refuse(path, "not a deepbelief checkpoint")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise _refuse(path, f"it is in checkpoint format {metadata.get('format_version', 1)!s}, this deepbelief "
                            f"resumes format {FORMAT_VERSION} (finish the run with the version that started it)")
    if metadata.get("sha256") != bound_checksum(data, metadata):
        raise _refuse(path, "it is corrupted (its checksum does not match its content)")
    try:
        state = json.loads(metadata["state"])
        tensors = load_bytes(data)
    except (KeyError, TypeError, json.JSONDecodeError, RecursionError, SafetensorError, ValueError) as exc:
        raise _refuse(path, f"it is corrupted ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise _refuse(path, "its state is not an object")
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise _refuse(path, f"tensor {name!r} holds NaN or infinite values")
    return tensors, state


@contextlib.contextmanager
def restoring(path):
    """Errors while a fit restores itself from the checkpoint at ``path`` become ModelFileError: what was read
    does not fit the model (a tensor missing or of the wrong shape, a state entry missing or of the wrong type)."""
    try:
        yield
    except ModelFileError as exc:
        if str(exc).startswith("cannot resume"):
            raise
        raise _refuse(path, f"its content does not fit this model ({exc})") from None
    except (KeyError, TypeError, IndexError, ValueError, RuntimeError, AttributeError) as exc:
        raise _refuse(path, f"its content does not fit this model ({type(exc).__name__}: {exc})") from None
