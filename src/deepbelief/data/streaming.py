"""Training data larger than memory: rows of a ``.npy`` file (or of a NumPy memmap of one) read block by block
with plain file reads, so that the memory in use is one block whatever the file's size."""
import os
from pathlib import Path

import numpy as np
import torch

BLOCK_ROWS = 8192


def is_streamed(X):
    """True for a path to a .npy file, or a np.memmap over a whole .npy file: data that ``fit`` streams instead of
    loading. Other memmaps (slices, other file formats) are used as ordinary arrays."""
    if isinstance(X, np.memmap):
        if X.filename is None or not str(X.filename).endswith(".npy"):
            return False
        try:
            return NpyRows(X.filename).shape == X.shape and X.flags.c_contiguous
        except ValueError:
            return False
    return isinstance(X, (str, os.PathLike)) and str(X).endswith(".npy")


class NpyRows:
    """The rows of a 2-D, C-ordered float32/float64 array stored in a .npy file.

    ``source``: a path, or a np.memmap over a whole .npy file (``np.load(path, mmap_mode='r')``), whose file is then
    read directly. ``window``: None for all rows, or (start, count): the ``count`` rows from row ``start`` on,
    wrapping around to the first rows past the end (a data-parallel rank's shard, see ``distributed.Group.shard``).
    """

    def __init__(self, source, window=None):
        if isinstance(source, np.memmap):
            if source.filename is None:
                raise ValueError("this np.memmap has no file behind it; pass the path of its .npy file instead")
            self.path = Path(source.filename)
        else:
            self.path = Path(source)
        if not self.path.exists():
            raise ValueError(f"no such file: {self.path}")
        with open(self.path, "rb") as f:
            try:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(f)
            except ValueError as exc:
                raise ValueError(f"{self.path} is not a .npy file: {exc}") from None
            self.offset = f.tell()
        if len(shape) != 2 or fortran or dtype not in (np.float32, np.float64):
            raise ValueError(f"{self.path} holds a {'Fortran-ordered ' if fortran else ''}{dtype} array of shape "
                             f"{shape}; streaming needs a 2-D C-ordered float32 or float64 array")
        if isinstance(source, np.memmap) and source.shape != shape:
            raise ValueError(f"the memmap has shape {source.shape} but its file {self.path} holds {shape}; pass a "
                             "memmap of the whole file, or the path")
        self.n_file_rows, self.dtype = shape[0], dtype
        self.start, count = (0, shape[0]) if window is None else window
        self.shape = (count, shape[1])
        self.n_blocks = max(1, -(-count // BLOCK_ROWS))
        # (low, high): every read is clipped to them, set by the check pass for units with a bounded range (the
        # values it accepted lie within rounding of it)
        self.bounds = None

    def _read(self, start, n_rows):
        row_bytes = self.shape[1] * self.dtype.itemsize
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * row_bytes)
            data = np.fromfile(f, dtype=self.dtype, count=n_rows * self.shape[1])
        if self.bounds is not None:
            np.clip(data, *self.bounds, out=data)
        return data.reshape(n_rows, self.shape[1])

    def block(self, index):
        """Rows [index * BLOCK_ROWS, (index + 1) * BLOCK_ROWS) (of the window) as a fresh array."""
        first = index * BLOCK_ROWS
        n_rows = min(first + BLOCK_ROWS, self.shape[0]) - first
        start = (self.start + first) % self.n_file_rows
        if start + n_rows <= self.n_file_rows:
            return self._read(start, n_rows)
        head = self.n_file_rows - start  # the window wraps around the end of the file
        return np.concatenate([self._read(start, head), self._read(0, n_rows - head)])

    def blocks(self):
        for index in range(self.n_blocks):
            yield self.block(index)


def rank_reader(source, group):
    """NpyRows of the rows of ``source`` that this process trains on: all of them, or with a ``distributed.Group``
    the rank's shard (``Group.shard``), so that no rank reads the others' rows."""
    reader = NpyRows(source)
    if group is None:
        return reader
    shard = group.shard(reader.shape[0])
    return NpyRows(source, window=(int(shard[0]), len(shard)))


def checked_moments(reader, units, owner, gaussian, group=None):
    """One pass over ``reader`` (NpyRows): every value finite and in the range of ``units`` (within rounding, as for
    data in memory: the reader then clips what it reads to that range); with ``gaussian`` the
    per-feature mean and standard deviation (float64), else (None, None). With a ``distributed.Group``, the
    moments of all ranks' rows, each rank reading its own."""
    return _checked_pass(reader, units, owner, gaussian, group)[1:]


def fingerprint(source):
    """SHA-256 of a streamed file's rows (shape, dtype and bytes, read block by block: one pass over the file), the
    key a checkpoint of a fit on it is bound to; the same on every rank."""
    import hashlib

    reader = NpyRows(source)
    h = hashlib.sha256(f"{reader.shape}{reader.dtype}".encode())
    for block in reader.blocks():
        h.update(np.ascontiguousarray(block).tobytes())
    return h.hexdigest()


def checked_units_and_moments(reader, visible, owner, group=None):
    """``checked_moments`` for the visible units ``visible`` (the moments when they standardise), and the units:
    ``visible`` itself, or for 'auto' the units that the same pass picks from the range of all ranks' rows (see
    ``resolve_visible``). Returns (units, mean, std)."""
    from .._validation import standardized

    return _checked_pass(reader, visible, owner, visible != "auto" and standardized(visible), group)


def _checked_pass(reader, units, owner, gaussian, group):
    """(units, mean, std) of ``checked_units_and_moments``; for 'auto' ``gaussian`` is not read."""
    from .._validation import extreme_count, fit_range, resolve_visible, unit_bounds

    auto = units == "auto"
    n, n_features = reader.shape
    total, total_sq = np.zeros(n_features), np.zeros(n_features)
    lo, hi, extremes = np.inf, -np.inf, 0
    for index, block in enumerate(reader.blocks()):
        if not np.isfinite(block).all():
            row = (reader.start + index * BLOCK_ROWS + int(np.argwhere(~np.isfinite(block))[0][0])) % reader.n_file_rows
            raise ValueError(f"{owner}: {reader.path} has a NaN or infinite value in row {row}")
        if auto:
            lo, hi = min(lo, float(np.min(block))), max(hi, float(np.max(block)))
            extremes += extreme_count(block)
        else:
            fit_range(block, units, owner, what=f"X ({reader.path})")  # rounding past the range is accepted
        if gaussian or auto:  # 'auto' cannot know yet whether it needs them
            total += block.sum(0, dtype=np.float64)
            for start in range(0, len(block), 1024):  # small float64 temporaries
                total_sq += np.square(block[start:start + 1024], dtype=np.float64).sum(0)
    # 'auto': whether this rank's range leaves [0, 1], and its count of values at 0 or 1, summed over the ranks
    outside = [float(resolve_visible("auto", lo, hi) != "bernoulli"), float(extremes)] if auto else []
    if gaussian or auto:
        if group is not None:
            sums = torch.as_tensor(np.concatenate([total, total_sq, [n], outside]), device=group.device)
            group.sum_([sums])
            total, total_sq, n, outside = np.split(sums.cpu().numpy(), [n_features, 2 * n_features,
                                                                       2 * n_features + 1])
            n = n[0]
    if auto:
        share = outside[1] / max(n * n_features, 1)
        units = "gaussian" if outside[0] or resolve_visible("auto", 0.0, 1.0, share) != "bernoulli" else "bernoulli"
        gaussian = units == "gaussian"
        if not gaussian:  # the same check as explicit Bernoulli units, on this rank's range
            fit_range(np.array([lo, hi]), units, owner, what=f"X ({reader.path})")
    if not gaussian:
        reader.bounds = unit_bounds(units)
        return units, None, None
    mean = total / n
    return units, mean, np.sqrt(np.maximum(total_sq / n - mean**2, 0.0))


def read_rows(reader, rows, piece=1024):
    """The file rows with the given sorted indices, read ``piece`` rows at a time (memory: the rows asked for plus
    one piece)."""
    rows = np.asarray(rows)
    out = np.empty((len(rows), reader.shape[1]), reader.dtype)
    pieces = rows // piece
    for index in np.unique(pieces):
        pick = pieces == index
        start = int(index) * piece
        out[pick] = reader._read(start, min(piece, reader.n_file_rows - start))[rows[pick] - start]
    return out
