"""Training on rows streamed from a .npy file (see :mod:`deepbelief.streaming`): greedy training of RBMs, and the
rows and targets of a supervised fit."""
import numpy as np
from sklearn.utils import check_array

from .. import distributed
from ..data.streaming import NpyRows, checked_units_and_moments, rank_reader
from ..training import StreamedRows, greedy_stack
from ._layer import RBMLayer


def fit_streamed(rbms, source, propagate, owner, saved=None, save=None, restoring=None):
    """Train ``rbms`` (unfitted RBM estimators, bottom to top; ``data_mean_`` None above the first) greedily on
    the rows of ``source`` (a .npy path or a np.memmap of one), holding one block of rows in memory at a time.

    One pass checks the values and gathers the standardisation of Gaussian visible units; per layer, one pass
    sets the visible biases from the mean input, then every epoch visits the blocks in a random order and the rows
    of each block in a random order (a block-wise shuffle). Rows of layer l > 0 are computed on the fly through
    the trained layers below (probabilities, or samples with ``propagate='sample'``).

    Under data parallelism (torchrun) each rank reads only its own shard of the file's rows. ``saved``, ``save``:
    resume from / write checkpoints as :func:`deepbelief.training.greedy_stack` describes (``restoring()`` around
    every load of a saved state).
    """
    name = type(owner).__name__
    if any(rbm.n_labels is not None for rbm in rbms) or any(rbm.validation_fraction is not None for rbm in rbms):
        raise ValueError(f"{name}: streamed training data do not support n_labels or validation_fraction yet")
    group = distributed.current()
    reader = rank_reader(source, group)
    first = rbms[0]
    first._visible_resolved, mean, std = checked_units_and_moments(reader, first.visible, name, group)
    first._set_scaler_from_moments(mean, std, reader.dtype)
    owner.n_features_in_ = reader.shape[1]
    layers = RBMLayer.stack(rbms, group, propagate, restoring)
    greedy_stack(layers, StreamedRows(reader, layers[0].encode, group), saved, save)


class StreamedXY:
    """Training rows of a .npy file (a path or a memmap of one) that ``fit`` streams: the chosen row indices."""

    def __init__(self, source, reader, rows):
        self.source, self.reader, self.rows = source, reader, rows

    @property
    def shape(self):
        return len(self.rows), self.reader.shape[1]

    def __getitem__(self, mask):
        return StreamedXY(self.source, self.reader, self.rows[mask])

    def with_rows(self, rows):
        return StreamedXY(self.source, self.reader, rows)


def streamed_X_y(estimator, X, y, **target_checks):
    """(streamed rows of X, validated y) for a fit on a .npy path or memmap; the values of X are checked as they
    are read (``_fit_network``)."""
    reader = NpyRows(X)
    y = check_array(y, **{"ensure_2d": False, "dtype": None, "input_name": "y", **target_checks})
    if len(y) != reader.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: [{reader.shape[0]}, {len(y)}] "
                         f"({reader.path} has {reader.shape[0]} rows)")
    estimator.n_features_in_ = reader.shape[1]
    return StreamedXY(X, reader, np.arange(reader.shape[0])), y
