"""Saving and loading estimators without pickle: one safetensors file, JSON metadata in its header.

The file holds the tensors (float32) and, in the safetensors metadata, ``format`` = 'deepbelief',
``format_version``, ``library_version``, ``class``, ``state`` (JSON: hyperparameters and fitted attributes) and
``sha256``, a checksum of the tensor bytes and of the other metadata, so that corruption is detected on load.
Writes are atomic: a temporary file in the same folder is written, flushed to disk and renamed over the target,
so an interrupted save never destroys the previous file.
"""
import contextlib
import errno
import glob
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from ._version import __version__
from .errors import ModelFileError

FORMAT = "deepbelief"
FORMAT_VERSION = 2  # 2: the checksum binds each tensor's name, dtype, shape and position too (1: bytes only)
MAX_TENSOR_ELEMENTS = 1 << 31  # refuse absurd shapes from hostile files before allocating


def encode_array(a):
    """A JSON-able description of a small NumPy array (labels, scalers), keeping its dtype."""
    a = np.asarray(a)
    if a.dtype.kind in "US":
        return {"dtype": "str", "values": a.astype(str).tolist()}
    if a.dtype.kind == "O":
        return {"dtype": "object", "values": [v.item() if hasattr(v, "item") else v for v in a.tolist()]}
    return {"dtype": a.dtype.str, "values": a.tolist()}


MAX_ARRAY_VALUES = 10_000_000  # a saved scaler or label set; a bigger claim is a damaged or hostile file
ARRAY_KINDS = "biuf"  # numeric dtypes a saved array may have (besides 'str' and 'object' labels)


def decode_array(d):
    """The array ``encode_array`` described, checked before anything is allocated: a known dtype of at most 8 bytes,
    a flat list of at most MAX_ARRAY_VALUES values, finite numbers; ModelFileError otherwise."""
    if d is None:
        return None
    if not isinstance(d, dict) or not isinstance(d.get("values"), list) or len(d["values"]) > MAX_ARRAY_VALUES:
        raise ModelFileError("a saved array is not a list of values of a sane size")
    values, kind = d["values"], d.get("dtype")
    if kind == "str":
        if not all(isinstance(v, str) for v in values) or sum(map(len, values)) > MAX_ARRAY_VALUES:
            raise ModelFileError("a saved array of strings holds something else, or too much")
        return np.array(values, dtype=str)
    if kind == "object":
        if not all(isinstance(v, (str, int, float, bool)) for v in values):
            raise ModelFileError("a saved array of labels holds something else than strings and numbers")
        return np.array(values, dtype=object)
    try:
        dtype = np.dtype(kind)
    except TypeError:
        raise ModelFileError(f"a saved array has the unknown dtype {kind!r}") from None
    if dtype.kind not in ARRAY_KINDS or dtype.itemsize > 8:
        raise ModelFileError(f"a saved array has the dtype {kind!r}; expected a number type")
    try:
        array = np.array(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise ModelFileError(f"a saved {kind} array holds values of another type") from None
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ModelFileError("a saved array holds NaN or infinite values")
    return array


def decode_classes(d):
    """Saved class labels: a decoded array of distinct values."""
    classes = decode_array(d)
    if classes is not None and len(np.unique(classes.astype(str))) != len(classes):
        raise ModelFileError("the saved classes repeat a label")
    return classes


def decode_scale(d):
    """A saved scale (standard deviations): a decoded array of finite values > 0."""
    scale = decode_array(d)
    if scale is not None and not (scale > 0).all():
        raise ModelFileError("a saved scale is 0 or negative (it divides the data)")
    return scale


def save(estimator, path, extra=None):
    """Write a fitted estimator to ``path`` (conventionally ``*.dbn``) atomically.

    Parameters
    ----------
    estimator : a fitted deepbelief estimator (RBM, DBN, DBNClassifier, DBNRegressor)
    path : str or Path
    extra : JSON-able dict or None
        Further metadata kept with the model (the command line stores its preprocessing there), returned by
        ``read(path, with_extra=True)``.
    """
    if not str(path):
        raise ValueError("save needs a file name, e.g. 'model.dbn'; got ''")
    tensors, state = estimator._get_state()
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "library_version": __version__,
                "class": type(estimator).__name__, "state": json.dumps(state)}
    if extra is not None:
        metadata["extra"] = json.dumps(extra)
    tensors = {name: t.detach().to("cpu", torch.float32).contiguous() for name, t in tensors.items()}
    # The tensor bytes do not depend on the metadata, so they can be checksummed before the final write.
    unsigned = save_bytes(tensors, metadata=metadata)
    metadata["sha256"] = bound_checksum(unsigned, metadata)
    write_atomic(Path(path), save_bytes(tensors, metadata=metadata))


def write_atomic(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder, flushed to disk and renamed over the
    target, so that an interrupted write never destroys the previous file. The file gets the permissions of the
    umask (as ``open`` would give it); the temporary files of earlier writes to ``path`` whose process is gone
    (killed mid-write) are removed first. Errors name ``path``, not the temporary file."""
    path = Path(path)
    if path.name in ("", ".", "..") or path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder, not a file name", str(path))
    folder = path.parent
    _remove_debris(folder, path.name)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename != str(path):
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_debris(folder, name):
    """Delete ``.NAME.PID.*.tmp`` files left in ``folder`` by writes whose process no longer runs."""
    try:
        leftovers = list(folder.glob(f".{glob.escape(name)}.*.tmp"))
    except OSError:
        return
    for leftover in leftovers:
        pid = leftover.name[len(name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _payload(data):
    return data[8 + int.from_bytes(data[:8], "little"):]


def _checksum(payload, metadata):
    """Format 1's sha256: the tensor bytes and every metadata entry but the checksum itself."""
    h = hashlib.sha256(payload)
    h.update(json.dumps({k: v for k, v in metadata.items() if k != "sha256"}, sort_keys=True).encode())
    return h.hexdigest()


def bound_checksum(data, metadata):
    """sha256 of the header's tensor entries (names, dtypes, shapes, offsets), the tensor bytes and every metadata
    entry but the checksum itself: two same-shaped tensors swapped, or a tensor renamed, no longer match."""
    size = int.from_bytes(data[:8], "little")
    entries = {k: v for k, v in json.loads(data[8:8 + size]).items() if k != "__metadata__"}
    h = hashlib.sha256(json.dumps(entries, sort_keys=True).encode())
    h.update(data[8 + size:])
    h.update(json.dumps({k: v for k, v in metadata.items() if k != "sha256"}, sort_keys=True).encode())
    return h.hexdigest()


def read_file(path, what, dtypes):
    """(bytes, header) of a safetensors file at ``path``, refused before its tensors are read unless it is a
    regular file whose header is sane (:func:`read_header`) and whose size is exactly the header's plus the
    tensors' it declares (a multi-GB file with a damaged header is never read whole). OSError passes through."""
    path = Path(path)
    if not path.is_file():  # a FIFO would hang, a device (/dev/zero) fill memory
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
        raise ModelFileError(f"{str(path)!r} is not a {what}: not a regular file (a folder, device or pipe)")
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        start = head + f.read(max(0, min(length, 100_000_001)))
        header = read_header(start, path, what, dtypes)
        end = max((info["data_offsets"][1] for name, info in header.items() if name != "__metadata__"
                   and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2
                   and isinstance(info["data_offsets"][1], int)), default=0)
        if size != 8 + length + end:
            raise ModelFileError(f"{str(path)!r} is truncated or damaged: its header declares {8 + length + end} "
                                 f"bytes, the file has {size}")
        return start + f.read(), header


def read(path, with_extra=False):
    """(class name, state dict, tensors dict) of a model file, validated, and with ``with_extra`` the ``extra``
    dict given to ``save`` ({} if none); raises ModelFileError."""

    path = Path(path)
    try:
        data, header = read_file(path, "deepbelief model file", ("F32",))
    except FileNotFoundError:
        raise ModelFileError(f"no model file at {str(path)!r}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {str(path)!r}: {exc.strerror}") from None
    metadata = header.get("__metadata__", {})
    metadata = metadata if isinstance(metadata, dict) else {}
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is a safetensors file but not a deepbelief model")
    try:
        version = int(metadata.get("format_version", ""))
    except (TypeError, ValueError):
        raise ModelFileError(f"{str(path)!r} has no valid format version") from None
    if version < 1:
        raise ModelFileError(f"{str(path)!r} has no valid format version ({version})")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{str(path)!r} was written in model format {version} by deepbelief "
                             f"{metadata.get('library_version', '?')}; this deepbelief {__version__} reads format "
                             f"{FORMAT_VERSION} and older. Upgrade deepbelief to load it")
    expected = _checksum(_payload(data), metadata) if version == 1 else bound_checksum(data, metadata)
    if metadata.get("sha256") != expected:
        raise ModelFileError(f"{str(path)!r} is corrupted: its checksum does not match its content")
    try:
        state = json.loads(metadata["state"])
    except (KeyError, TypeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{str(path)!r} has corrupted metadata (the 'state' JSON)") from None
    if not isinstance(state, dict):
        raise ModelFileError(f"{str(path)!r} has corrupted metadata (the 'state' is not an object)")
    try:
        tensors = load_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{str(path)!r} is corrupted: {exc}") from None
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise ModelFileError(f"{str(path)!r} holds NaN or infinite values in tensor {name!r}")
    if not with_extra:
        return metadata.get("class"), state, tensors
    try:
        extra = json.loads(metadata.get("extra", "{}"))
    except (TypeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{str(path)!r} has corrupted metadata (the 'extra' JSON)") from None
    return metadata.get("class"), state, tensors, extra


def read_header(data, path, what, dtypes):
    """The safetensors header of the bytes ``data`` (of ``path``, a ``what``), parsed by hand and bounds-checked
    before anything is allocated: every tensor's shape sane and its dtype one of ``dtypes``; ModelFileError."""
    if len(data) < 8:
        raise ModelFileError(f"{str(path)!r} is not a {what} (too short; truncated?)")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8 or size > 100_000_000:
        raise ModelFileError(f"{str(path)!r} is not a {what}, or it is truncated (header of "
                             f"{size} bytes in a file of {len(data)})")
    try:
        header = json.loads(data[8:8 + size])
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ModelFileError(f"{str(path)!r} is not a {what} (unreadable header)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{str(path)!r} is not a {what} (unreadable header)")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        shape = info.get("shape", []) if isinstance(info, dict) else None
        if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape) or \
                int(np.prod(shape, dtype=np.float64)) > MAX_TENSOR_ELEMENTS:
            raise ModelFileError(f"{str(path)!r} is corrupted: tensor {name!r} has an invalid shape")
        if info.get("dtype") not in dtypes:
            raise ModelFileError(f"{str(path)!r} is corrupted: tensor {name!r} is {info.get('dtype')}, not "
                                 f"{' or '.join(dtypes)}")
    return header
