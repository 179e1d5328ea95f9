"""The conditional DBN (Taylor, Hinton & Roweis 2007): a stack of conditional RBMs for video and motion."""
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._runtime import memory_errors, seeds_from
from .._validation import layer_sizes, per_layer
from ..callbacks import reports
from ..core.units import STACKED_UNITS, VISIBLE_UNITS
from ..training import greedy_stack
from ._persist import SaveMixin, check_int, json_params, restore_params
from ._sequence_layer import ConditionalLayer, SequenceRows
from .sequence import (SEQUENCE_CD_CONSTRAINTS, SEQUENCE_SHARED, ConditionalRBM, as_sequences, check_samples,
                       check_steps, history, mean_squared_error)


class ConditionalDBN(SaveMixin, BaseEstimator):
    """A stack of conditional RBMs (Taylor, Hinton & Roweis 2007): the first models the frames, each next one
    the sequence of hidden-unit probabilities of the layer below, with its own history.

    Generation samples the top layer's next frame given its history, then passes it down: each lower layer's
    frame is E[v_t | h_t, u_t] with that layer's own history. A layer l needs ``order[l]`` frames of history of
    its input, so the whole stack needs ``sum(order)`` frames of context.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(100, 100)
    order : int or sequence of int, default=3
        History length of each layer.
    visible : {'gaussian', 'bernoulli', 'relu'}, default='gaussian'
        Units of the first layer's visible frames; each upper layer's visible units are the hidden units below.
    hidden : {'bernoulli', 'relu'}, default='bernoulli'
        Hidden units of every layer.
    learning_rate : float, 'auto' or one per layer, default='auto'
    n_iter : int or one per layer, default=50
    batch_size, k, momentum, final_momentum, momentum_switch, weight_decay, lr_schedule, sparsity_target,
    sparsity_cost, centering, validation_fraction, precision, n_gibbs, n_predict_steps, shuffle, device,
    random_state, verbose : as :class:`ConditionalRBM`, shared by all layers (each layer its own seed).
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.

    Attributes
    ----------
    layers_ : list of fitted ConditionalRBM
    n_features_in_ : int
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "order": ["array-like", Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions(VISIBLE_UNITS)],
        "hidden": [StrOptions(STACKED_UNITS)],
        **SEQUENCE_CD_CONSTRAINTS,
        "learning_rate": ["array-like", Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "n_iter": ["array-like", Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, hidden_layer_sizes=(100, 100), *, order=3, visible="gaussian", hidden="bernoulli",
                 learning_rate="auto", batch_size=100, n_iter=50, k=1, momentum=0.5, final_momentum=0.9,
                 momentum_switch=5, weight_decay=2e-4, lr_schedule="constant", sparsity_target=0.1,
                 sparsity_cost=0.0, centering=False, validation_fraction=None, precision="float32", n_gibbs=30,
                 n_predict_steps=5, shuffle=True, device="cpu", random_state=None, verbose=False,
                 callbacks=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.order = order
        self.visible = visible
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.momentum_switch = momentum_switch
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.centering = centering
        self.validation_fraction = validation_fraction
        self.precision = precision
        self.n_gibbs = n_gibbs
        self.n_predict_steps = n_predict_steps
        self.shuffle = shuffle
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _layers(self):
        """One unfitted, validated ConditionalRBM per layer with this stack's hyperparameters (and own seeds)."""
        sizes = layer_sizes(self.hidden_layer_sizes)
        orders = per_layer(self.order, len(sizes), "order")
        if not all(isinstance(o, Integral) and not isinstance(o, bool) and o >= 1 for o in orders):
            raise ValueError(f"order must be an integer >= 1 or one per layer; got {self.order!r}")
        rates = per_layer(self.learning_rate, len(sizes), "learning_rate")
        epochs = per_layer(self.n_iter, len(sizes), "n_iter")
        seeds = seeds_from(self.random_state, len(sizes))
        shared = {name: getattr(self, name) for name in SEQUENCE_SHARED}
        layers = [ConditionalRBM(size, order=int(o), visible=self.visible if i == 0 else self.hidden,
                                 hidden=self.hidden, learning_rate=lr, n_iter=n, random_state=seed, **shared)
                  for i, (size, o, lr, n, seed) in enumerate(zip(sizes, orders, rates, epochs, seeds))]
        for layer in layers:
            layer._validate_params()
        return layers

    @property
    def context_length(self):
        """Frames of history the stack needs: the sum of the layers' orders."""
        check_is_fitted(self, "layers_")
        return sum(layer.order for layer in self.layers_)

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Greedy layer-wise training on one sequence or a list of sequences.

        Returns
        -------
        self
        """
        layers = self._layers()
        sequences, _ = as_sequences(X, type(self).__name__, units=self.visible)
        self.n_features_in_ = sequences[0].shape[1]
        context, n = sum(layer.order for layer in layers), len(layers)
        greedy_stack([ConditionalLayer(layer, f"layer {i + 1}/{n}", i, f"no sequence is long enough to train layer "
                                       f"{i}: the stack needs sequences longer than sum(order) = {context} frames")
                      for i, layer in enumerate(layers)], SequenceRows(sequences))
        self.layers_ = layers
        return self

    @torch.no_grad()
    def _levels(self, frames):
        """Bottom-up features of a batch of contexts ``frames`` (n, T, F) in model units: a list with, for each
        layer, its visible frames (n, T_l, F_l), T_l = T - (orders below)."""
        levels = [frames]
        for layer in self.layers_[:-1]:
            levels.append(layer._features(levels[-1]))
        return levels

    @torch.no_grad()
    def _down(self, levels, top):
        """Pass a new top-layer frame down: each layer's new visible frame is E[v_t | h_t, u_t]; returns the
        new frame of every level, bottom first."""
        new = [top]
        for layer, x in zip(reversed(self.layers_[:-1]), reversed(levels[:-1])):
            m = layer.module_
            a_t, _ = m.dynamic_biases(history(x[:, -layer.order:]))
            new.append(m.mean_v_given_h(new[-1], a_t))
        return new[::-1]

    def _contexts(self, X, min_frames):
        check_is_fitted(self, "layers_")
        bottom = self.layers_[0]
        sequences, single = as_sequences(X, type(self).__name__, self.n_features_in_, self.visible, min_frames)
        return sequences, single, bottom

    def predict_next(self, X, n_samples=0, random_state=None):
        """The frame after the end of each sequence (at least ``context_length`` frames long): features of the
        context bottom-up, a prediction in the top layer as ``ConditionalRBM.predict``, then down.

        Returns
        -------
        array of shape (n_features,) for one sequence, (n_sequences, n_features) for a list
        """
        sequences, single, bottom = self._contexts(X, self.context_length)
        frames = torch.stack([bottom._encode(s[-self.context_length:]) for s in sequences])
        out = bottom._decode(self._predict_tensor(frames, check_samples(n_samples), self._generator(random_state)))
        return out[0] if single else out

    def _generator(self, random_state):
        return self.layers_[-1]._generator(random_state)

    @torch.no_grad()
    def _predict_tensor(self, frames, n_samples, generator):
        levels = self._levels(frames)
        top = self.layers_[-1]
        context = levels[-1][:, -top.order:]
        return self._down(levels, top._predict_tensor(context, n_samples, generator))[0]

    def predict(self, X, n_samples=0, random_state=None):
        """One-step-ahead predictions of frames t >= context_length, each from the true frames before it (see
        ``predict_next``).

        Returns
        -------
        array of shape (n_frames - context_length, n_features), or a list of them
        """
        sequences, single, bottom = self._contexts(X, self.context_length + 1)
        n_samples, generator = check_samples(n_samples), self._generator(random_state)
        c = self.context_length
        out = []
        for s in sequences:
            frames = bottom._encode(s)
            context = frames.unfold(0, c, 1)[:-1].transpose(1, 2)  # (n - c, c, F)
            out.append(bottom._decode(self._predict_tensor(context, n_samples, generator)))
        return out[0] if single else out

    def score(self, X, y=None):
        """Minus the mean squared one-step-ahead prediction error per frame (summed over features, data units)."""
        sequences, _, _ = self._contexts(X, self.context_length + 1)
        return -mean_squared_error(self.predict(sequences), sequences, self.context_length)

    @torch.no_grad()
    def generate(self, seed_frames, n_steps, random_state=None):
        """Generate ``n_steps`` frames after ``seed_frames`` (at least ``context_length`` frames; or a 3-D array of
        several seeds): Gibbs sampling in the top layer given its history, then down through the layers.

        Returns
        -------
        array of shape (n_steps, n_features), or (n_sequences, n_steps, n_features)
        """
        seeds, single, bottom = self._contexts(seed_frames, self.context_length)
        n_steps = check_steps(n_steps)
        top = self.layers_[-1]
        generator = self._generator(random_state)
        levels = self._levels(torch.stack([bottom._encode(s[-self.context_length:]) for s in seeds]))
        out = []
        for _ in range(n_steps):
            x = levels[-1][:, -top.order:]
            new = self._down(levels, top.module_.sample_frame(history(x), x[:, -1], top.n_gibbs, generator))
            levels = [torch.cat([lev[:, 1:], f[:, None]], 1) for lev, f in zip(levels, new)]
            out.append(bottom._decode(new[0]))
        out = np.stack(out, 1)
        return out[0] if single else out

    # persistence -----------------------------------------------------------------------------------
    def _get_state(self, prefix=""):
        check_is_fitted(self, "layers_")
        tensors, layers = {}, []
        for i, layer in enumerate(self.layers_):
            t, s = layer._get_state(f"{prefix}layers.{i}.")
            tensors.update(t)
            layers.append(s)
        return tensors, {"params": json_params(self), "n_features_in": int(self.n_features_in_), "layers": layers}

    @classmethod
    def _from_state(cls, state, tensors, device=None, prefix=""):
        cdbn = restore_params(cls, state["params"], device)
        expected = len(cdbn._layers())
        if not isinstance(state["layers"], list) or len(state["layers"]) != expected:
            raise ValueError(f"the file holds {len(state['layers'])} layers, expected {expected}")
        cdbn.layers_ = [ConditionalRBM._from_state(s, tensors, device, f"{prefix}layers.{i}.")
                        for i, s in enumerate(state["layers"])]
        cdbn.n_features_in_ = check_int(state["n_features_in"], "n_features_in")
        if cdbn.layers_[0].n_features_in_ != cdbn.n_features_in_:
            raise ValueError("the first layer's frame size does not match n_features_in")
        return cdbn
