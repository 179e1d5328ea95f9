"""The conditional RBM's training side: a ConditionalRBM estimator as a layer of the greedy stack
(:func:`deepbelief.training.greedy_stack`), on sequences of frames (:class:`SequenceRows`)."""
import contextlib

import numpy as np
import torch

from .._runtime import to_numpy, to_tensor
from ..core.units import get_units
from ..training import split_validation
from ._layer import layer_state, load_layer_state, train_layer

TENSORS = ("weight", "visible_bias", "hidden_bias", "autoregressive", "past_hidden")


def windows(seq, order):
    """Rows [v_t, v_{t-1}, ..., v_{t-order}] for t = order..n_frames-1, shape (n_frames - order, (order+1) F)."""
    n = seq.shape[0]
    return np.concatenate([seq[order - j: n - j] for j in range(order + 1)], axis=1)


class SequenceRows:
    """Training rows of a conditional layer: ``sequences``, arrays of shape (n_frames_i, width) in the data's
    units. A layer passes up the hidden probabilities of the frames that have its full history."""

    streamed = lazy = False

    def __init__(self, sequences):
        self.sequences = list(sequences)

    @property
    def width(self):
        return self.sequences[0].shape[1]

    def up(self, layer):
        return SequenceRows(layer.up(self.sequences))


class ConditionalLayer:
    """Train the ConditionalRBM estimator ``crbm`` as layer ``index`` of a stack of conditional RBMs.

    ``too_short``: the error when no sequence has a frame with the layer's full history (the default names the
    layer's order; a stack names the context it needs)."""

    def __init__(self, crbm, desc=None, index=0, too_short=None, restoring=None):
        self.crbm, self.index = crbm, index
        self.desc = type(crbm).__name__ if desc is None else desc
        self.too_short = too_short or (f"no sequence is longer than order={crbm.order} frames, so there is no frame "
                                       "with a full history to learn from; give longer sequences or a smaller order")
        self.restoring = restoring or contextlib.nullcontext

    @property
    def n_outputs(self):
        return self.crbm.n_components

    def begin(self, n_inputs):
        self.crbm._build(n_inputs)

    def rows(self, sequences):
        """The training rows [v_t, u_t] in model units of every frame with a full history, as a tensor; the
        standardisation of Gaussian frames is fitted to all the frames of ``sequences``."""
        crbm = self.crbm
        rows = [windows(s, crbm.order) for s in sequences if len(s) > crbm.order]
        if not rows:
            raise ValueError(self.too_short)
        crbm._set_scaler(np.concatenate(sequences))
        rows = np.concatenate(rows)
        if crbm.data_mean_ is not None:  # every block of a row is a frame
            rows = (rows - np.tile(crbm.data_mean_, crbm.order + 1)) / np.tile(crbm.data_scale_, crbm.order + 1)
        return to_tensor(rows, crbm.module_.weight.device)

    def fit(self, rows, restore=None, on_epoch=None):
        """Train on the sequences of ``rows``: visible biases from the mean frame, validation frames set aside,
        the saved state ``restore`` loaded when resuming, then the remaining epochs of CD."""
        crbm = self.crbm
        data = self.rows(rows.sequences)
        initial = get_units(crbm.visible).initial_bias(data[:, : crbm.n_features_in_].mean(0))
        if initial is not None:  # from the mean frame, as for the plain RBM
            crbm.module_.visible_bias.copy_(initial)
        validation = None
        if crbm.validation_fraction is not None:
            validation, data = split_validation(data, crbm.validation_fraction, crbm._shuffle_generator)
        if restore is not None:
            self.load_state_dict(restore)
        train_layer(crbm, self.desc, self.index, data, crbm.n_iter - crbm.n_iter_, validation, on_epoch)

    @torch.no_grad()
    def up(self, sequences):
        """E[h | v_t, u_t] of the frames with a full history, one array per sequence long enough to have any."""
        crbm = self.crbm
        return [to_numpy(crbm._features(crbm._encode(s))) for s in sequences if len(s) > crbm.order]

    def state_dict(self):
        """See :func:`deepbelief.estimators._layer.layer_state`: all five parameter tensors and the training state."""
        return layer_state(self.crbm, TENSORS, self.index)

    def load_state_dict(self, state):
        with self.restoring():
            load_layer_state(self.crbm, TENSORS, self.index, state)
