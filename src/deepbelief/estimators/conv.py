"""Convolutional RBMs and convolutional DBNs with probabilistic max-pooling (Lee, Grosse, Ranganath & Ng 2009):
scikit-learn estimators over :class:`~deepbelief.core.conv.ConvRBMModule`, trained by the shared greedy stack."""
import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import checkpoint, distributed
from .._runtime import make_generator, memory_errors, resolve_device, seeds_from, to_numpy, to_tensor
from .._validation import (INFERENCE_CHUNK, check_count, check_layer, check_masked_X, check_X, chunk_rows,
                           dense_rows, issparse)
from ..callbacks import reports
from ..core.conv import ConvRBMModule, _pair, conv_shapes
from ..core.nets import conv_network
from ..core.units import get_units
from ..training import ConvCDTrainer, greedy_stack
from ._cd_parameters import CD_PARAMETER_CONSTRAINTS, SAMPLER_PARAMETERS, cd_config
from ._checkpoints import StackCheckpointMixin
from ._layer import RBMLayer
from ._persist import SaveMixin, check_int, check_shapes, copy_tensor, json_params, restore_params
from ._scaling import AutoVisibleMixin, GaussianScalingMixin

_CONV_VISIBLE = ("auto", "bernoulli", "gaussian")
# learning_rate='auto'. The gradients are averaged over positions, so steps are smaller than a dense RBM's at the
# same rate: 0.5 (measured on MNIST and digits against 0.1 and 2.0, see BENCHMARKS.md).
_AUTO_RATE = {"bernoulli": 0.5, "gaussian": 0.05}
# CD hyperparameters every layer takes from the estimator (the CD table less centring, undefined for shared weights)
_LAYER_CD = tuple(name for name in CD_PARAMETER_CONSTRAINTS
                  if name not in ("centering", "random_state", "verbose", *SAMPLER_PARAMETERS))


def image_rows(X, image_shape, owner):
    """(2-D rows, (C, H, W)) of images X: (n, C, H, W), (n, H, W) (one channel), or rows (n, C * H * W) with
    ``image_shape`` (C, H, W) or (H, W), or without it square one-channel images."""
    if not hasattr(X, "shape"):  # lists of rows or of images
        X = np.asarray(X)
    if X.ndim in (3, 4) and not issparse(X):
        X = np.asarray(X)
        shape = tuple(int(n) for n in ((1, *X.shape[1:]) if X.ndim == 3 else X.shape[1:]))
        if image_shape is not None and tuple(image_shape) not in (shape, shape[1:]):
            raise ValueError(f"{owner}: image_shape={tuple(image_shape)} but X holds images of shape {shape}")
        return X.reshape(X.shape[0], -1), shape
    n_features = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
    if image_shape is not None:
        shape = tuple(int(n) for n in image_shape)
        shape = (1, *shape) if len(shape) == 2 else shape
        if n_features is not None and int(np.prod(shape)) != n_features:
            raise ValueError(f"{owner}: image_shape={tuple(image_shape)} needs {int(np.prod(shape))} columns, but X "
                             f"has {n_features}")
        return X, shape
    side = int(round(np.sqrt(n_features))) if n_features else 0
    if n_features is None or side * side != n_features:
        raise ValueError(f"{owner} needs images: pass X as (n, C, H, W) or (n, H, W) arrays, or set image_shape=(C, "
                         f"H, W) for rows of flattened images (X has {n_features} columns, not a square number)")
    return X, (1, side, side)


CONV_CHUNK = 2**24  # detection units held at once when passing rows up or inferring (64 MB of float32 per tensor)


def conv_chunk(module):
    """Rows per chunk for ``module``: its detection maps of a chunk hold at most ``CONV_CHUNK`` values."""
    return max(1, CONV_CHUNK // (module.n_filters * module.detection_shape[0] * module.detection_shape[1]))


class _LayerFit:
    """What :class:`RBMLayer`'s training machinery reads of one layer of a convolutional stack: its hyperparameters
    (copied from the estimator), its module, trainer, generators, epochs and monitors."""

    n_labels = None
    data_mean_ = data_scale_ = None

    def __init__(self, owner, image_shape, n_filters, filter_size, pool_size, visible, seed):
        for name in _LAYER_CD:
            setattr(self, name, getattr(owner, name))
        self.learning_rate, self.n_iter, self.verbose, self.random_state = (owner.learning_rate, owner.n_iter,
                                                                            owner.verbose, seed)
        self.image_shape, self.n_filters, self.filter_size, self.pool_size = image_shape, n_filters, filter_size, pool_size
        self.visible_ = visible
        self.n_iter_, self.history_ = 0, []

    def _cd_config(self):
        lr = self.learning_rate
        if lr == "auto":
            lr = _AUTO_RATE[self.visible_]
        return cd_config(self, lr)

    def _standardize(self, X):
        return X


class ConvLayer(RBMLayer):
    """A convolutional RBM as a layer of the greedy stack: flat rows of images in, pooling-unit means (or samples)
    out; training state, checkpoints and data parallelism as :class:`RBMLayer`'s."""

    @property
    def n_outputs(self):
        r = self.rbm
        _, (hp, wp) = conv_shapes(r.image_shape, r.filter_size, r.pool_size)
        return r.n_filters * hp * wp

    def begin(self, n_inputs):
        r = self.rbm
        device = resolve_device(r.device, self.group)
        init_seed, shuffle_seed, sample_seed, inference_seed = seeds_from(r.random_state, 4)
        module = ConvRBMModule(r.image_shape, r.n_filters, r.filter_size, r.pool_size, visible=r.visible_,
                               device=device)
        init = make_generator(init_seed, "cpu")  # a seed gives the same filters on every device
        module.weight.copy_(torch.randn(module.weight.shape, generator=init) * 0.01)
        r.module_, r.n_features_in_, r.n_iter_, r.history_ = module, n_inputs, 0, []
        r._shuffle_generator = make_generator(shuffle_seed, "cpu")
        r._inference_generator = make_generator(inference_seed, device)
        r._trainer = ConvCDTrainer(module, r._cd_config(), make_generator(sample_seed, device), self.group)

    def set_visible_bias(self, mean):
        """Each channel's bias from its mean value over the pixels (Bernoulli: log(p / (1 - p))); Gaussian 0."""
        module = self.rbm.module_
        initial = module.visible.initial_bias(mean.reshape(module.image_shape[0], -1).mean(1))
        if initial is not None:
            module.visible_bias.copy_(initial)

    def up(self, v):
        """Pooling-unit means (or samples) of the rows ``v``, in chunks of at most ``CONV_CHUNK`` detection units."""
        m = self.rbm.module_
        step = conv_chunk(m)
        if self.propagate == "mean":
            return torch.cat([m.pooled(v[i:i + step]) for i in range(0, len(v), step)])
        pooled = []
        for i in range(0, len(v), step):
            h = m.sample_h_given_v(v[i:i + step], self.rbm._trainer.draws)[1]
            pooled.append(m._blocks(h).sum(-1).reshape(h.shape[0], -1))
        return torch.cat(pooled)


class ConvDBN(AutoVisibleMixin, GaussianScalingMixin, StackCheckpointMixin, SaveMixin, TransformerMixin,
              BaseEstimator):
    """Convolutional deep belief network (Lee et al. 2009): a greedy stack of convolutional RBMs with probabilistic
    max-pooling, the pooling maps of each layer the visible images of the next.

    Layer l has ``n_filters[l]`` filters of ``filter_size[l]`` shared over all positions of its input maps, detection
    maps of (H - f_h + 1, W - f_w + 1) units in pooling blocks of ``pool_size[l]`` (at most one unit on per block;
    edge blocks are smaller when the blocks do not tile the maps) and one pooling unit per block. Each layer is trained
    with CD-k / PCD-k for ``n_iter`` epochs, its gradients averaged over positions, with Lee et al.'s sparsity penalty
    on the hidden biases (``sparsity_cost``) driving each filter's mean detection probability to ``sparsity_target``.

    Parameters
    ----------
    n_filters : sequence of int, default=(24, 40)
        Filters (detection maps) per layer, bottom to top.
    filter_size : int, pair, or a sequence of them (one per layer), default=3
    pool_size : int, pair, or a sequence of them (one per layer), default=2
        With two layers a pair of ints is one size per layer; write ``((5, 3), (5, 3))`` for non-square ones.
    image_shape : (C, H, W), (H, W) or None, default=None
        The shape of each image when X is given as rows of flattened images; None: X is a (n, C, H, W) or (n, H, W)
        array, or rows of square one-channel images. The fitted shape is ``image_shape_``.
    visible : {'auto', 'bernoulli', 'gaussian'}, default='auto'
        Unit type of the first layer's pixels; 'auto' chooses Bernoulli for data in [0, 1] of which at least a
        quarter are 0 or 1, else Gaussian units on data standardised channel by channel (``data_mean_``,
        ``data_scale_``). Higher layers are Bernoulli.
    learning_rate : float or 'auto', default='auto'
        0.5 for Bernoulli, 0.05 for Gaussian pixels (the gradients are averaged over the positions).
    n_iter : int, default=10
        CD epochs per layer.
    sparsity_target, sparsity_cost : float, default=0.05, 0.5
        Target mean detection probability of each filter and the penalty's strength (0 disables it).
    propagate : {'mean', 'sample'}, default='mean'
        What each trained layer passes up: pooling-unit probabilities or samples.
    lr_schedule, batch_size, k, persistent, momentum, final_momentum, momentum_switch, weight_decay,
    validation_fraction, shuffle, device, precision, random_state, verbose
        As for :class:`deepbelief.RBM` (every layer takes them).
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.
    checkpoint_dir : str or None; checkpoint_every : int, default=1
        Checkpoints of the greedy pretraining (``fit(..., resume=True)`` continues an interrupted fit exactly).

    Attributes
    ----------
    modules_ : list of ConvRBMModule, bottom to top
    image_shape_ : (C, H, W)
    history_ : list (per layer) of lists (per epoch) of dict
    filters_ : ndarray of shape (n_filters[0], C, f_h, f_w), the first layer's filters

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import ConvDBN
    >>> X = load_digits().data / 16                      # 8x8 images as rows
    >>> cdbn = ConvDBN(n_filters=(8, 8), n_iter=2, random_state=0).fit(X)
    >>> cdbn.transform(X).shape                          # 8 filters x 1 x 1 pooled maps on top
    (1797, 8)
    """

    _parameter_constraints = {
        "n_filters": ["array-like"],
        "filter_size": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "pool_size": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "image_shape": ["array-like", None],
        "visible": [StrOptions(set(_CONV_VISIBLE))],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "propagate": [StrOptions({"mean", "sample"})],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        **{name: c for name, c in CD_PARAMETER_CONSTRAINTS.items() if name not in ("centering", *SAMPLER_PARAMETERS)},
    }

    def __init__(self, n_filters=(24, 40), *, filter_size=3, pool_size=2, image_shape=None, visible="auto",
                 learning_rate="auto", lr_schedule="constant", batch_size=32, n_iter=10, k=1, persistent=False,
                 momentum=0.5, final_momentum=0.9, momentum_switch=5, weight_decay=1e-4, sparsity_target=0.05,
                 sparsity_cost=0.5, propagate="mean", validation_fraction=None, shuffle=True, checkpoint_dir=None,
                 checkpoint_every=1, device="cpu", precision="float32", random_state=None, verbose=False,
                 callbacks=None):
        self.n_filters = n_filters
        self.filter_size = filter_size
        self.pool_size = pool_size
        self.image_shape = image_shape
        self.visible = visible
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.momentum_switch = momentum_switch
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.propagate = propagate
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # architecture -------------------------------------------------------------------------------
    def _filters(self):
        return tuple(np.atleast_1d(self.n_filters).tolist())

    def _layer_sizes(self):
        sizes = self._filters()
        if not sizes or not all(isinstance(n, int) and n >= 1 for n in sizes):
            raise ValueError(f"n_filters must be a sequence of positive integers; got {self.n_filters!r}")
        return sizes

    def _per_layer(self, value, name, n):
        """``value`` (an int, a pair, or one of those per layer) as n pairs."""
        if isinstance(value, Integral) or (len(value) == 2 and all(isinstance(v, Integral) for v in value) and n != 2):
            return [_pair(value, name)] * n
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} entries but there are {n} layers; give one value or one per layer")
        return [_pair(v, name) for v in value]

    def _specs(self, image_shape):
        """(input image shape, n_filters, filter pair, pool pair) of every layer, checked for fit."""
        sizes = self._layer_sizes()
        filters, pools = (self._per_layer(self.filter_size, "filter_size", len(sizes)),
                          self._per_layer(self.pool_size, "pool_size", len(sizes)))
        specs, shape = [], tuple(image_shape)
        for index, (n, f, p) in enumerate(zip(sizes, filters, pools)):
            try:
                _, pooled = conv_shapes(shape, f, p)
            except ValueError as exc:
                raise ValueError(f"layer {index} (input maps {shape}): {exc}") from None
            specs.append((shape, n, f, p))
            shape = (n, *pooled)
        return specs

    # training -----------------------------------------------------------------------------------
    def _image_X(self, X, reset):
        """Validated 2-D rows of X (dense or sparse), setting or checking the image shape."""
        owner = type(self).__name__
        if reset:
            X, self.image_shape_ = image_rows(X, self.image_shape, owner)
            return self._check_fit_X(X, sparse=True)
        check_is_fitted(self, "modules_")
        if hasattr(X, "ndim") and X.ndim in (3, 4) and not issparse(X):
            rows, shape = image_rows(X, None, owner)
            if shape != self.image_shape_:
                raise ValueError(f"X holds images of shape {shape} but {owner} was fitted on {self.image_shape_}")
            X = rows
        return check_X(self, X, reset=False, units=self.visible_, sparse=True)

    def _set_scaler(self, X):
        """Gaussian pixels: each channel standardised by its mean and standard deviation over all its pixels (a
        per-pixel scale would break the weight sharing), stored expanded to every feature."""
        if not get_units(self.visible_).standardized:
            self.data_mean_ = self.data_scale_ = None
            return
        c = self.image_shape_[0]
        mean = np.asarray(X.mean(0, dtype=np.float64)).ravel().reshape(c, -1).mean(1)
        square = (X.multiply(X) if issparse(X) else np.square(X, dtype=np.float64))
        square = np.asarray(square.mean(0, dtype=np.float64)).ravel().reshape(c, -1).mean(1)
        pixels = X.shape[1] // c
        self._set_scaler_from_moments(np.repeat(mean, pixels), np.repeat(np.sqrt(np.maximum(square - mean**2, 0)),
                                                                          pixels), X.dtype)

    def _layers(self, group, restoring):
        seeds = seeds_from(self.random_state, len(self._layer_sizes()))
        layers, specs = [], self._specs(self.image_shape_)
        for index, ((shape, n, f, p), seed) in enumerate(zip(specs, seeds)):
            fit = _LayerFit(self, shape, n, f, p, self.visible_ if index == 0 else "bernoulli", seed)
            layers.append(ConvLayer(fit, f"layer {index + 1}/{len(specs)}", index, group, self.propagate,
                                    restoring=restoring))
        return layers

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, resume=False):
        """Greedy layer-wise training on the images X.

        Parameters
        ----------
        X : array of shape (n, C, H, W) or (n, H, W), or rows (n, C * H * W) (dense or SciPy sparse) of flattened
            images (see ``image_shape``)
        y : ignored
        resume : bool, default=False
            Continue from the checkpoint in ``checkpoint_dir``; the data and hyperparameters must be the same.

        Returns
        -------
        self
        """
        X = self._image_X(X, reset=True)
        self._set_scaler(X)
        group = distributed.current()
        path = self._checkpoint_path("pretraining.ckpt")
        key = checkpoint.fingerprint(X, None) if path is not None or resume else None
        layers = self._layers(group, lambda: checkpoint.restoring(path))
        layers[0].rbm._standardize = self._standardize
        rows = layers[0].rows(X if group is None else X[group.shard(X.shape[0])])
        greedy_stack(layers, rows, self._stack_resume(path, key) if resume else None,
                     self._stack_saver(path, key, [self.n_iter] * len(layers)))
        self._set_layers([layer.rbm for layer in layers])
        return self

    def _set_layers(self, fits):
        self.modules_ = [fit.module_ for fit in fits]
        self.history_ = [fit.history_ for fit in fits]
        device = self.modules_[0].weight.device
        self._inference_generator = make_generator(seeds_from(self.random_state, 1)[0], device)

    @property
    def filters_(self):
        check_is_fitted(self, "modules_")
        return to_numpy(self.modules_[0].weight)

    @property
    def components_(self):
        """The first layer's filters as rows, shape (n_filters[0], C * f_h * f_w)."""
        return self.filters_.reshape(self.filters_.shape[0], -1)

    # inference ----------------------------------------------------------------------------------
    def _encode(self, X):
        return to_tensor(self._standardize(X), self.modules_[0].weight.device)

    def _decode(self, V):
        V = to_numpy(V) if torch.is_tensor(V) else V
        return V if self.data_mean_ is None else V * self.data_scale_ + self.data_mean_

    def _rows(self, fn, X):
        chunk = chunk_rows(X, min(INFERENCE_CHUNK, min(conv_chunk(m) for m in self.modules_)))
        return np.concatenate([to_numpy(fn(self._encode(dense_rows(X, i, i + chunk))))
                               for i in range(0, X.shape[0], chunk)])

    def _check_layer(self, layer):
        return check_layer(layer, len(self.modules_), type(self).__name__)

    def _up(self, v, layer):
        for m in self.modules_[:layer + 1]:
            v = m.pooled(v)
        return v

    @torch.no_grad()
    def transform(self, X, layer=-1, maps=False):
        """Pooling-unit probabilities of hidden layer ``layer`` given the images (bottom-up, each layer's means).

        Parameters
        ----------
        X : images or rows of flattened images (as ``fit``)
        layer : int or 'all', default=-1 (the top)
            'all': every layer's pooled features side by side, bottom first (Lee et al. classify with the features of
            both layers).
        maps : bool, default=False
            Return (n, n_filters, H_p, W_p) maps instead of flattened rows.

        Returns
        -------
        ndarray of shape (n, n_filters[layer] * H_p * W_p) (for 'all' their sum over layers), or the maps, float32
        """
        X = self._image_X(X, reset=False)
        if isinstance(layer, str) and layer == "all":
            if maps:
                raise ValueError("maps=True needs one layer; layer='all' gives rows")
            return self._rows(self._all_layers, X)
        layer = self._check_layer(layer)
        out = self._rows(lambda v: self._up(v, layer), X)
        return out.reshape(len(out), self.modules_[layer].n_filters, *self.modules_[layer].pooled_shape) if maps else out

    def _all_layers(self, v):
        features = []
        for m in self.modules_:
            v = m.pooled(v)
            features.append(v)
        return torch.cat(features, 1)

    def _reconstruct(self, v):
        """Up through every layer (means), then down: each layer's pooling means shared among its detection units
        as its bottom-up input weights them, E[v | h]."""
        inputs = [v]
        for m in self.modules_[:-1]:
            inputs.append(m.pooled(inputs[-1]))
        p = self.modules_[-1].prob_h_given_v(inputs[-1])[1]
        for m, below in zip(reversed(self.modules_), reversed(inputs)):
            p = m.mean_v_given_h(m.mean_h_given_pooled(below, p))
        return p.reshape(len(v), -1)

    @torch.no_grad()
    def reconstruct(self, X):
        """Deterministic up-down reconstruction of the images (see ``denoise``), as rows in the data's units."""
        X = self._image_X(X, reset=False)
        return self._decode(self._rows(self._reconstruct, X)).astype(X.dtype, copy=False)

    @torch.no_grad()
    def denoise(self, X, mask=None, n_iter=10):
        """Denoise or fill in images: the deterministic up-down reconstruction, repeated ``n_iter`` times with the
        known pixels clamped (inpainting) or, without unknown pixels, once.

        Parameters
        ----------
        X : array of shape (n, C * H * W) (rows of flattened images); NaN marks unknown pixels
        mask : boolean array of X's shape or None; True marks unknown pixels
        n_iter : int, default=10

        Returns
        -------
        ndarray of X's shape in the data's units: known pixels as given, unknown ones filled
        """
        check_is_fitted(self, "modules_")
        n_iter = check_count(n_iter, "n_iter", low=1)
        X, unknown = check_masked_X(self, X, mask, units=self.visible_)
        if unknown is None:
            return self.reconstruct(X)
        # unknown pixels start at the channel's mean value
        first = self.modules_[0]
        start = first.visible.mean(first.visible_bias_image().reshape(1, -1))
        chunk, filled = min(INFERENCE_CHUNK, min(conv_chunk(m) for m in self.modules_)), []
        for i in range(0, len(X), chunk):
            known = self._encode(X[i:i + chunk])
            free = torch.as_tensor(unknown[i:i + chunk], device=known.device)
            v = torch.where(free, start.expand_as(known), known)
            for _ in range(n_iter):
                v = torch.where(free, self._reconstruct(v), known)
            filled.append(to_numpy(v))
        return np.where(unknown, self._decode(np.concatenate(filled)), X).astype(X.dtype)

    @torch.no_grad()
    def score_samples(self, X):
        """-F(v) of the first layer (its unnormalised log-probability, in the data's units for Gaussian pixels):
        higher for images more like the training data."""
        X = self._image_X(X, reset=False)
        return self._rows(lambda v: -self.modules_[0].free_energy(v), X) + self._data_log_jacobian()

    @torch.no_grad()
    def generate(self, n_samples, burn_in=1000, n_down=20, random_state=None):
        """Sample images: ``burn_in`` Gibbs sweeps of the top layer's convolutional RBM from random pixels, then
        for each lower layer ``n_down`` sweeps of its RBM with the pooling units clamped to the states drawn above
        (P(v, h | pooling states)); returns the bottom layer's means E[v | h].

        Returns
        -------
        ndarray of shape (n_samples, C * H * W) in the data's units
        """
        check_is_fitted(self, "modules_")
        n = check_count(n_samples, "n_samples", low=1)
        g = self._inference_generator if random_state is None else make_generator(
            seeds_from(random_state, 1)[0], self.modules_[0].weight.device)
        top = self.modules_[-1]
        v = torch.rand((n, top.n_visible), generator=g, device=top.weight.device).round()
        for _ in range(check_count(burn_in, "burn_in")):
            v = top.gibbs_vhv(v, g)[1]
        mean = top.mean_v_given_h(top.sample_h_given_v(v, g)[1])
        for m, above in zip(reversed(self.modules_[:-1]), reversed(self.modules_[1:])):
            pooled = v.reshape(n, *above.image_shape)
            v = m.visible.mean(m.visible_bias_image().expand(n, *m.image_shape))
            for _ in range(check_count(n_down, "n_down", low=1)):
                mean, v = m.sample_v_given_h(m.sample_h_given_pooled(v, pooled, g), g)
        return self._decode(mean.reshape(n, -1))

    def to_torch(self):
        """The bottom-up inference as a ``torch.nn.Sequential`` to fine-tune: flat rows of images in model units
        (standardised for Gaussian pixels, see ``data_mean_``) -> Conv2d + probabilistic max-pooling per layer ->
        flat rows of the top layer's pooling probabilities (what ``transform`` returns), with trainable copies of the
        filters and hidden biases. Put a head on it, e.g. ``nn.Sequential(net, nn.Linear(n, n_classes))``."""
        check_is_fitted(self, "modules_")
        return conv_network(self.modules_)

    # persistence --------------------------------------------------------------------------------
    def _get_state(self):
        check_is_fitted(self, "modules_")
        tensors = {}
        for i, m in enumerate(self.modules_):
            tensors.update({f"{i}.weight": m.weight, f"{i}.hidden_bias": m.hidden_bias,
                            f"{i}.visible_bias": m.visible_bias})
        state = {"params": json_params(self), "image_shape": list(self.image_shape_),
                 "n_features_in": int(self.n_features_in_), "history": self.history_, **self._scaler_state(),
                 **self._visible_state()}
        return tensors, state

    @classmethod
    def _from_state(cls, state, tensors, device=None):
        est = restore_params(cls, state["params"], device)
        est._set_visible_state(state)
        shape = tuple(check_int(n, "image_shape") for n in state["image_shape"])
        n_features = check_int(state["n_features_in"], "n_features_in")
        if len(shape) != 3 or int(np.prod(shape)) != n_features:
            raise ValueError(f"the saved image shape {shape} does not match {n_features} features")
        specs = est._specs(shape)
        check_shapes(tensors, {name: s for i, (inp, n, f, _) in enumerate(specs) for name, s in (
            (f"{i}.weight", (n, inp[0], *f)), (f"{i}.hidden_bias", (n,)), (f"{i}.visible_bias", (inp[0],)))})
        target = resolve_device(est.device)
        est.image_shape_, est.n_features_in_ = shape, n_features
        modules = []
        for i, (inp, n, f, p) in enumerate(specs):
            m = ConvRBMModule(inp, n, f, p, visible=est.visible_ if i == 0 else "bernoulli", device=target)
            for name in ("weight", "hidden_bias", "visible_bias"):
                copy_tensor(getattr(m, name), tensors, f"{i}.{name}")
            modules.append(m)
        est.modules_, est.history_ = modules, list(state["history"])
        est._inference_generator = make_generator(seeds_from(est.random_state, 1)[0], target)
        est._set_scaler_state(state, n_features)
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.sparse = True
        return tags


class ConvRBM(ConvDBN):
    """Convolutional RBM with probabilistic max-pooling (Lee et al. 2009): one layer of :class:`ConvDBN`.

    Parameters
    ----------
    n_filters : int, default=24
    filter_size : int or (int, int), default=3
    pool_size : int or (int, int), default=2
        1 gives the plain convolutional RBM (independent detection units, no pooling).
    The other parameters are :class:`ConvDBN`'s.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import ConvRBM
    >>> X = load_digits().data / 16
    >>> crbm = ConvRBM(n_filters=8, filter_size=5, n_iter=2, random_state=0).fit(X)
    >>> crbm.transform(X, maps=True).shape               # 8 maps of 2x2 pooling units
    (1797, 8, 2, 2)
    """

    _parameter_constraints = {**ConvDBN._parameter_constraints,
                              "n_filters": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, n_filters=24, *, filter_size=3, pool_size=2, image_shape=None, visible="auto",
                 learning_rate="auto", lr_schedule="constant", batch_size=32, n_iter=10, k=1, persistent=False,
                 momentum=0.5, final_momentum=0.9, momentum_switch=5, weight_decay=1e-4, sparsity_target=0.05,
                 sparsity_cost=0.5, validation_fraction=None, shuffle=True, checkpoint_dir=None, checkpoint_every=1,
                 device="cpu", precision="float32", random_state=None, verbose=False,
                 callbacks=None):
        super().__init__((n_filters,), filter_size=filter_size, pool_size=pool_size, image_shape=image_shape,
                         visible=visible, learning_rate=learning_rate, lr_schedule=lr_schedule,
                         batch_size=batch_size, n_iter=n_iter, k=k, persistent=persistent, momentum=momentum,
                         final_momentum=final_momentum, momentum_switch=momentum_switch, weight_decay=weight_decay,
                         sparsity_target=sparsity_target, sparsity_cost=sparsity_cost,
                         validation_fraction=validation_fraction, shuffle=shuffle, checkpoint_dir=checkpoint_dir,
                         checkpoint_every=checkpoint_every, device=device, precision=precision,
                         random_state=random_state, verbose=verbose, callbacks=callbacks)
        self.n_filters = n_filters
        self.propagate = "mean"

    def _per_layer(self, value, name, n):
        return [_pair(value, name)]
