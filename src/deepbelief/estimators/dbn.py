"""The DBN estimator: greedy layer-wise pretraining of a stack of RBMs."""
import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .. import checkpoint, distributed
from ..callbacks import reports
from ..data.streaming import fingerprint as streaming_fingerprint, is_streamed
from .._runtime import memory_errors, seeds_from, to_tensor
from ..training import OBJECTIVES, UNLABELLED_OBJECTIVES, greedy_stack
from .._validation import check_layer, check_range, check_X, layer_sizes, per_layer
from ..core.dbn import DBNModule
from ..core.units import STACKED_UNITS, VISIBLE_UNITS
from ..core.nets import feedforward, recognition_linears
from ._persist import SaveMixin, copy_tensor, json_params, restore_params
from ._checkpoints import StackCheckpointMixin
from ._sampling import DBNSamplingMixin
from ._scoring import DBNScoringMixin
from ._up_down import UpDownMixin
from ._scaling import AutoVisibleMixin
from ._layer import RBMLayer, label_rows
from ._stream import fit_streamed
from ._cd_parameters import CD_PARAMETER_CONSTRAINTS, CD_PARAMETERS
from ._labels import LabelModelMixin, has_labels, probabilities
from .rbm import RBM



class DBN(UpDownMixin, LabelModelMixin, DBNScoringMixin, DBNSamplingMixin, AutoVisibleMixin, StackCheckpointMixin,
          SaveMixin, TransformerMixin, BaseEstimator):
    """Deep belief network pretrained greedily, one RBM per hidden layer (Hinton, Osindero & Teh 2006).

    RBM 1 is trained on X; RBM l on the activations P(h^(l-1) | ...) of the layer below (or on samples of
    them, ``propagate='sample'``). ``transform`` is the bottom-up mean-field pass, ``inverse_transform`` the
    deterministic top-down pass that uses, for layer l-1, the visible biases of RBM l.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256, 256)
        Hidden units per layer, bottom to top.
    visible : {'auto', 'bernoulli', 'gaussian', 'relu'}, default='auto'
        Unit type of the data layer (a Gaussian first layer makes a "continuous DBN"). 'auto' (the default) chooses
        at ``fit``: Bernoulli units when the training data lie in [0, 1] (within 1e-5) and at least a quarter of
        the values are 0 or 1 (binary data, images; probabilities such as another model's ``transform`` have
        none, so pass ``visible='bernoulli'`` to take them as Bernoulli means), else Gaussian units with the
        per-feature standardisation; the choice is the fitted attribute ``visible_`` (and is printed with
        ``verbose``).
    hidden : {'bernoulli', 'relu'}, default='bernoulli'
        Unit type of every hidden layer: binary, or noisy rectified linear (each RBM above then has rectified
        visible units).
    learning_rate : float, 'auto', or one per layer, default='auto'
        See :class:`RBM`; 'auto' is 0.1 for Bernoulli and 0.01 for Gaussian visible units.
    n_iter : int or one per layer, default=10
        Pretraining epochs of each layer.
    propagate : {'mean', 'sample'}, default='mean'
        What the layer above is trained on: the probabilities, or binary samples of them.
    n_labels : int or None, default=None
        With K labels the top RBM models the penultimate layer jointly with K one-hot label units (Hinton,
        Osindero & Teh 2006): fit with ``fit(X, y)``; ``generate(n, label=c)`` clamps the label, and ``predict`` /
        ``predict_proba`` classify by the top RBM's free energies. Rows labelled -1 train the layers below only
        (and the top one too with ``unlabelled_weight`` > 0).
    objective, generative_weight, unlabelled_weight, unlabelled_objective : default='generative', 0.01, 0.0, 'generative'
        How the top label RBM is trained, as in :class:`RBM`: 'discriminative' or 'hybrid' train it for P(y | x)
        of the penultimate features (a classification RBM on pretrained features, Larochelle & Bengio 2008).
    hidden_bias_decrement : float or one per layer, default=0.0
        As in :class:`RBM`: subtracted from the layer's hidden biases after each update.
    lr_schedule, batch_size, k, persistent, sampler, n_temperatures, momentum, final_momentum, momentum_switch,
    weight_decay, sparsity_target, sparsity_cost, centering, validation_fraction, shuffle, device, precision,
    random_state, verbose
        As in :class:`RBM`, applied to every layer. ``verbose`` shows one progress bar per layer.
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.
    checkpoint_dir : path or None, default=None
        Write a checkpoint (``pretraining.ckpt``) there every ``checkpoint_every`` epochs of every layer;
        ``fit(X, resume=True)`` continues from it with the same result as an uninterrupted run, for data in
        memory, sparse or streamed from a .npy file (bound to the file's rows: one extra pass to fingerprint them).
        Likewise ``fine_tune_up_down`` (``up_down.ckpt``, ``resume=True``).
    checkpoint_every : int, default=1

    Attributes
    ----------
    rbms_ : list of RBM
        The fitted RBMs, bottom to top.
    history_ : list of list of dict
        Per layer, the RBM's per-epoch monitors (see :class:`RBM`).
    module_ : DBNModule
        The stack as a torch module (sharing the RBMs' parameters).
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import DBN
    >>> X = load_digits().data / 16
    >>> dbn = DBN(hidden_layer_sizes=(64, 32), n_iter=5, random_state=0).fit(X)
    >>> dbn.transform(X).shape, dbn.transform(X, layer=0).shape
    ((1797, 32), (1797, 64))
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions(VISIBLE_UNITS), StrOptions({"auto"})],
        "hidden": [StrOptions(STACKED_UNITS)],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), "array-like"],
        "n_iter": [Interval(Integral, 0, None, closed="left"), "array-like"],
        "propagate": [StrOptions({"mean", "sample"})],
        "n_labels": [Interval(Integral, 2, None, closed="left"), None],
        "objective": [StrOptions(set(OBJECTIVES))],
        "generative_weight": [Interval(Real, 0, None, closed="left")],
        "unlabelled_weight": [Interval(Real, 0, None, closed="left")],
        "unlabelled_objective": [StrOptions(set(UNLABELLED_OBJECTIVES))],
        "hidden_bias_decrement": [Interval(Real, 0, None, closed="left"), "array-like"],
        "checkpoint_dir": [None, str, os.PathLike],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        **CD_PARAMETER_CONSTRAINTS,
    }

    def __init__(self, hidden_layer_sizes=(256, 256), *, visible="auto", hidden="bernoulli", learning_rate="auto",
                 lr_schedule="constant", batch_size=32,
                 n_iter=10, k=1, persistent=False, sampler="gibbs", n_temperatures=10, momentum=0.5,
                 final_momentum=0.9, momentum_switch=5,
                 weight_decay=1e-4, sparsity_target=0.1, sparsity_cost=0.0, centering=False, propagate="mean",
                 n_labels=None, objective="generative", generative_weight=0.01, unlabelled_weight=0.0,
                 unlabelled_objective="generative", hidden_bias_decrement=0.0,
                 validation_fraction=None, shuffle=True, checkpoint_dir=None, checkpoint_every=1, device="cpu",
                 precision="float32", random_state=None, verbose=False,
                 callbacks=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.persistent = persistent
        self.sampler = sampler
        self.n_temperatures = n_temperatures
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.momentum_switch = momentum_switch
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.centering = centering
        self.propagate = propagate
        self.n_labels = n_labels
        self.objective = objective
        self.generative_weight = generative_weight
        self.unlabelled_weight = unlabelled_weight
        self.unlabelled_objective = unlabelled_objective
        self.hidden_bias_decrement = hidden_bias_decrement
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _layer_sizes(self):
        return layer_sizes(self.hidden_layer_sizes)

    def _layer_rbms(self, sizes):
        """One unfitted RBM per layer with this DBN's hyperparameters (and per-layer seeds)."""
        n = len(sizes)
        rates = per_layer(self.learning_rate, n, "learning_rate")
        epochs = per_layer(self.n_iter, n, "n_iter")
        decrements = per_layer(self.hidden_bias_decrement, n, "hidden_bias_decrement")
        shared = {name: getattr(self, name) for name in CD_PARAMETERS if name != "random_state"}
        rbms = []
        for layer, (size, seed) in enumerate(zip(sizes, seeds_from(self.random_state, n))):
            top = layer == n - 1 and self.n_labels is not None
            labels = dict(n_labels=self.n_labels, objective=self.objective, generative_weight=self.generative_weight,
                          unlabelled_weight=self.unlabelled_weight,
                          unlabelled_objective=self.unlabelled_objective) if top else {}
            rbm = RBM(n_components=size, visible=self.visible_ if layer == 0 else self.hidden, hidden=self.hidden,
                      learning_rate=rates[layer], n_iter=epochs[layer], random_state=seed,
                      hidden_bias_decrement=decrements[layer], **labels, **shared)
            rbm._validate_params()
            if layer > 0:
                rbm.data_mean_ = rbm.data_scale_ = None  # the layers above take the rows in model units
            rbms.append(rbm)
        return rbms

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, resume=False):
        """Greedy layer-wise pretraining on X.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (n_samples, n_features) (sparse rows are densified one
            mini-batch at a time), or the path of a .npy file / a np.memmap of one, which
            is streamed block by block instead of loaded (see :mod:`deepbelief.streaming`)
        y : ignored, or with ``n_labels`` the labels, array-like of shape (n_samples,); -1 marks unlabelled rows
        resume : bool, default=False
            Continue from the checkpoint in ``checkpoint_dir`` (layer, epoch, momentum, chains, random generator
            states), if there is one; the data and hyperparameters must be those of the interrupted fit.

        Returns
        -------
        self
        """
        sizes = self._layer_sizes()
        path = self._checkpoint_path("pretraining.ckpt")
        streamed = is_streamed(X)
        if not streamed:
            X = self._check_fit_X(X, sparse=True)
        key = None  # the data's fingerprint, computed only for checkpoints (a pass over all rows)
        if path is not None or resume:
            key = streaming_fingerprint(X) if streamed else checkpoint.fingerprint(X, y)
        saved = self._stack_resume(path, key) if resume else None

        def restoring():
            return checkpoint.restoring(path)

        if streamed:
            rbms = self._layer_rbms(sizes)
            fit_streamed(rbms, X, self.propagate, self, saved, self._stack_saver(path, key, [rbm.n_iter for rbm in rbms]),
                         restoring)
            self._visible_resolved = rbms[0].visible_
            self._set_rbms(rbms)
            return self
        layers, rows = self._stack_layers(X, y, distributed.current(), restoring)
        greedy_stack(layers, rows, saved, self._stack_saver(path, key, [layer.n_epochs for layer in layers]))
        self._set_rbms(self._fitted_rbms(layers))
        return self

    def _stack_layers(self, X, y, group, restoring):
        """The layers greedy pretraining trains on X (checked) and the rows of the first: one RBM per layer."""
        layers = RBMLayer.stack(self._layer_rbms(self._layer_sizes()), group, self.propagate, restoring)
        if self.n_labels is not None:
            layers[-1].prepare = label_rows(X, *layers[-1].set_classes(y, X.shape[0]), layers, group)
        layers[0].set_scaler(X)
        return layers, layers[0].rows(X if group is None else X[group.shard(X.shape[0])])

    @staticmethod
    def _fitted_rbms(layers):
        return [layer.rbm for layer in layers]

    def _stack(self):
        return self.rbms_, self.module_

    def _set_rbms(self, rbms):
        self.rbms_ = list(rbms)
        self.module_ = DBNModule([rbm.module_ for rbm in self.rbms_])
        self.n_features_in_ = self.rbms_[0].n_features_in_

    @property
    def history_(self):
        check_is_fitted(self, "rbms_")
        return [rbm.history_ for rbm in self.rbms_]

    @classmethod
    def from_rbms(cls, rbms, **params):
        """A fitted DBN from fitted RBMs, bottom to top.

        Parameters
        ----------
        rbms : sequence of fitted RBM
            Sizes must chain (RBM l's ``n_components`` equals RBM l+1's ``n_features_in_``), every RBM has the
            same hidden unit type, and every RBM but the first has visible units of that type.
        **params : other constructor parameters of the DBN.
        """
        rbms = list(rbms)
        if not rbms:
            raise ValueError("from_rbms needs at least one fitted RBM")
        for layer, rbm in enumerate(rbms):
            if not isinstance(rbm, RBM):
                raise TypeError(f"from_rbms takes RBM estimators; item {layer} is a {type(rbm).__name__}")
            check_is_fitted(rbm, "module_")
            if rbm.n_labels is not None and layer != len(rbms) - 1:
                raise ValueError(f"RBM {layer} has label units; only the top RBM of a DBN may have them")
            if rbm.hidden != rbms[0].hidden:
                raise ValueError(f"RBM {layer} has hidden={rbm.hidden!r} but RBM 0 has hidden={rbms[0].hidden!r}; "
                                 "a DBN has one hidden unit type")
            if layer > 0 and rbm.visible != rbm.hidden:
                raise ValueError(f"RBM {layer} has visible={rbm.visible!r}; the layer below it has {rbm.hidden!r} "
                                 f"units, so its visible units must be {rbm.hidden!r} too")
        dbn = cls(hidden_layer_sizes=tuple(rbm.n_components for rbm in rbms), visible=rbms[0].visible_,
                  hidden=rbms[0].hidden, n_labels=rbms[-1].n_labels, **params)
        dbn._set_rbms(rbms)  # DBNModule checks that the sizes chain
        return dbn

    def _check_layer(self, layer):
        return check_layer(layer, len(self.rbms_), "DBN")

    @torch.no_grad()
    def transform(self, X, layer=-1):
        """Bottom-up mean activations E[h^layer | v].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        layer : int, default=-1
            Hidden layer, 0-based from the bottom (``rbms_[layer]``); -1 is the top.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[layer]), float32
        """
        check_is_fitted(self, "rbms_")
        layer = self._check_layer(layer)
        X = check_X(self, X, reset=False, units=self.visible_, sparse=True)
        return self.rbms_[0]._rows(lambda v: self._up(v, layer), X)

    def _up(self, v, layer):
        top = self.rbms_[-1]
        if layer == len(self.rbms_) - 1 and top.n_labels is not None:
            return top._hidden_mean(self._below_top(v))  # the label summed out
        return self.module_.up(v, layer)

    @torch.no_grad()
    def inverse_transform(self, H, layer=-1):
        """Deterministic top-down pass E[v | h^layer], each layer through the RBM above it.

        Parameters
        ----------
        H : array-like of shape (n_samples, hidden_layer_sizes[layer]), values in [0, 1] (>= 0 for relu units)
        layer : int, default=-1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), in the data's units
        """
        check_is_fitted(self, "rbms_")
        layer = self._check_layer(layer)
        H = check_array(H, dtype=(np.float32, np.float64), input_name="H")
        width = self.rbms_[layer].n_components
        if H.shape[1] != width:
            raise ValueError(f"H has {H.shape[1]} columns but hidden layer {layer} has {width} units")
        check_range(H, self.hidden, f"{type(self).__name__}'s hidden layer {layer}", "H")
        first = self.rbms_[0]
        h = to_tensor(H, first.module_.weight.device)
        if layer == len(self.rbms_) - 1 and self.rbms_[-1].n_labels is not None:
            top = self.rbms_[-1]
            h = top._data_part(top.module_.mean_v_given_h(h))
            return first._decode(h if layer == 0 else self.module_.down(h, layer - 1))
        return first._decode(self.module_.down(h, layer))

    def _generator(self, random_state):
        top = self.rbms_[-1]
        return top._generator(random_state)

    @property
    def classes_(self):
        """The labels of a DBN fitted with ``n_labels``."""
        check_is_fitted(self, "rbms_")
        return self.rbms_[-1].classes_

    @available_if(has_labels)
    @torch.no_grad()
    def predict_proba(self, X):
        """P(y | x) from the top RBM's free energies F(h, y) of the penultimate features h (``n_labels`` models):
        a purely generative classifier. Shape (n_samples, n_labels)."""
        check_is_fitted(self, "rbms_")
        top = self.rbms_[-1]
        X = check_X(self, X, reset=False, units=self.visible_, sparse=True)
        return probabilities(self.rbms_[0]._rows(lambda v: top.module_.label_posterior(self._below_top(v)), X))



    def _get_state(self, prefix=""):
        check_is_fitted(self, "rbms_")
        tensors, layers = {}, []
        for layer, rbm in enumerate(self.rbms_):
            t, state = rbm._get_state(prefix=f"{prefix}rbm{layer}.")
            tensors.update(t)
            layers.append(state)
        state = {"params": json_params(self), "layers": layers, "untied": self.module_.generative is not None,
                 **self._visible_state()}
        if state["untied"]:
            for index, gen in enumerate(self.module_.generative):
                tensors[f"{prefix}gen{index}.weight"] = gen.weight
                tensors[f"{prefix}gen{index}.visible_bias"] = gen.visible_bias
            state["up_down_epochs"] = self.up_down_epochs_
        return tensors, state

    @classmethod
    def _from_state(cls, state, tensors, device=None, prefix=""):
        dbn = restore_params(cls, state["params"], device)
        dbn._set_visible_state(state)
        device = dbn.device
        rbms = [RBM._from_state(layer, tensors, device, prefix=f"{prefix}rbm{i}.")
                for i, layer in enumerate(state["layers"])]
        if [r.n_components for r in rbms] != dbn._layer_sizes():
            raise ValueError("the saved layers do not match hidden_layer_sizes")
        dbn._set_rbms(rbms)
        if state.get("untied"):
            dbn.module_.untie()
            for index, gen in enumerate(dbn.module_.generative):
                copy_tensor(gen.weight, tensors, f"{prefix}gen{index}.weight")
                copy_tensor(gen.visible_bias, tensors, f"{prefix}gen{index}.visible_bias")
            dbn.up_down_epochs_ = state["up_down_epochs"]
        return dbn

    def to_torch(self):
        """The recognition (bottom-up) pass as a plain ``torch.nn.Sequential`` of Linear + activation layers
        (sigmoid, or ReLU for relu hidden units), holding copies of the weights, e.g. to add an output layer and
        continue in PyTorch. It computes ``transform`` (on inputs in model units: standardised for Gaussian
        visible units)."""
        check_is_fitted(self, "rbms_")
        activation = "relu" if self.hidden == "relu" else "sigmoid"
        return feedforward(recognition_linears(self.module_), activation).eval()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.positive_only = self._positive_only()
        tags.input_tags.sparse = True  # densified batch by batch
        return tags
