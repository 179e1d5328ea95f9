"""The DBM estimator: a deep Boltzmann machine pretrained greedily with the paper's modified RBMs, then trained
jointly with mean field and persistent chains (Salakhutdinov & Hinton 2009)."""
import functools
import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .. import checkpoint, distributed, io
from .._runtime import make_generator, memory_errors, resolve_device, seeds_from, to_numpy, to_tensor
from .._validation import (INFERENCE_CHUNK, check_count, check_layer, check_masked_X, check_X, chunk_rows, dense_rows,
                           layer_sizes)
from ..callbacks import reports
from ..core.dbm import DBMModule, ScaledRBMModule, compose, pretraining_scales
from ..training import DBMConfig, DBMTrainer, TensorRows, greedy_stack, train_dbm
from ._cd_parameters import CD_PARAMETER_CONSTRAINTS
from ._labels import LabelModelMixin, clamped_labels, has_labels, one_hot, probabilities
from ._layer import RBMLayer, label_rows
from ._checkpoints import StackCheckpointMixin
from ._persist import (SaveMixin, check_int, check_shapes, checkpoint_defaults, copy_tensor, json_params,
                       restore_params)
from ._progress import EpochBar
from ._scaling import AutoVisibleMixin, GaussianScalingMixin
from .rbm import RBM

_DBM_VISIBLE = ("bernoulli", "gaussian")
# The CD hyperparameters that the pretraining RBMs take from the DBM (the others keep the RBM's defaults).
_PRETRAINING = ("batch_size", "k", "momentum", "final_momentum", "momentum_switch", "weight_decay", "centering",
                "shuffle", "device")


class DBM(LabelModelMixin, AutoVisibleMixin, GaussianScalingMixin, StackCheckpointMixin, SaveMixin, TransformerMixin,
          BaseEstimator):
    """Deep Boltzmann machine (Salakhutdinov & Hinton 2009): undirected layers v, h^1, ..., h^L, each coupled to the
    layers beside it, E(v, h) = E_v(v; b_0) - sum_l b_l.h^l - sum_l h^l W_l h^(l-1).

    ``fit`` pretrains one RBM per hidden layer greedily, the bottom one with twice the input from below into its
    hidden units, the top one with twice the input from above into its visible units (those in between plainly,
    their weights halved when composed), for ``n_iter`` epochs each; then trains all layers jointly for ``max_iter``
    epochs: the data statistics from mean-field inference (``n_mean_field`` fixed-point iterations), the model's
    from ``n_particles`` persistent Gibbs chains advanced ``n_gibbs`` sweeps per update, at ``joint_learning_rate``
    decayed by ``lr_schedule``.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256, 256)
        Hidden units per layer, bottom to top (the paper's MNIST model: (500, 1000)).
    visible : {'auto', 'bernoulli', 'gaussian'}, default='auto'
        Unit type of the data layer; 'auto' chooses at ``fit``: Bernoulli units for data in [0, 1] (within 1e-5)
        of which at least a quarter are 0 or 1, else Gaussian units on per-feature standardised data (fitted
        attribute ``visible_``).
    learning_rate : float or 'auto', default='auto'
        Rate of the pretraining RBMs ('auto': 0.1 for Bernoulli, 0.01 for Gaussian visible units).
    n_iter : int, default=10
        Pretraining epochs of each RBM (0 skips pretraining: the joint training starts from small random weights).
    joint_learning_rate : float or 'auto', default='auto'
        Rate of the joint training ('auto': 0.005 for Bernoulli, 0.001 for Gaussian visible units).
    max_iter : int, default=10
        Epochs of joint training.
    lr_schedule : {'constant', 'linear', 'cosine'}, default='linear'
        The joint rate over the ``max_iter`` epochs (the paper decays it linearly towards 0).
    n_mean_field : int, default=10
        Mean-field iterations per batch in training, and in ``transform`` / ``score_samples``.
    damping : float in [0, 1), default=0.0
        Of the mean-field updates: mu <- damping mu + (1 - damping) update.
    n_particles : int, default=100
        Persistent chains of the joint training (the paper: 100).
    n_gibbs : int, default=5
        Gibbs sweeps of the chains per update (the paper: 5).
    n_labels : int or None, default=None
        With K labels a layer of K softmax label units sits above the top hidden layer, coupled to it alone (the
        label DBM of Salakhutdinov & Hinton's MNIST code): fit with ``fit(X, y)`` (rows labelled -1 are unlabelled:
        their label is inferred by mean field in the joint training, and they are left out of the top RBM's
        pretraining, which is a label RBM). ``predict_proba`` compares, label by label, the mean-field bound on
        log p*(x, y): softmax over y of the bounds (exact for one hidden layer, where the DBM is a classification
        RBM); ``generate(n, label=c)`` clamps the label; ``transform``, ``score_samples`` and ``denoise`` infer it.
    batch_size, k, momentum, final_momentum, momentum_switch, weight_decay, centering, shuffle, device, random_state,
    verbose
        As in :class:`RBM`, for the pretraining RBMs and (but ``k``) the joint training; ``centering`` centres
        both (Melchior, Fischer & Wiskott 2016; in the DBM every layer has its offset).
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.
    checkpoint_dir : path or None, default=None
        Write checkpoints there every ``checkpoint_every`` epochs: ``pretraining.ckpt`` while the RBMs train,
        ``joint.ckpt`` in the joint training; ``fit(X, resume=True)`` continues from the later one with the
        result of an uninterrupted fit.
    checkpoint_every : int, default=1

    Attributes
    ----------
    module_ : DBMModule
    components_ : ndarray of shape (hidden_layer_sizes[0], n_features), the first layer's weights
    pretraining_history_ : list of list of dict, the pretraining RBMs' monitors
    history_ : list of dict, per joint epoch {'reconstruction_error'}
    n_iter_ : int, joint epochs done
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import DBM
    >>> X = load_digits().data / 16
    >>> dbm = DBM(hidden_layer_sizes=(64, 32), n_iter=3, max_iter=3, random_state=0).fit(X)
    >>> dbm.transform(X).shape, dbm.generate(4, random_state=0).shape
    ((1797, 32), (4, 64))
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions({*_DBM_VISIBLE, "auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "joint_learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_mean_field": [Interval(Integral, 1, None, closed="left")],
        "damping": [Interval(Real, 0, 1, closed="left")],
        "n_particles": [Interval(Integral, 1, None, closed="left")],
        "n_gibbs": [Interval(Integral, 1, None, closed="left")],
        "n_labels": [Interval(Integral, 2, None, closed="left"), None],
        "checkpoint_dir": [None, str, os.PathLike],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        **{name: CD_PARAMETER_CONSTRAINTS[name] for name in (*_PRETRAINING, "lr_schedule", "random_state",
                                                              "verbose")},
    }

    def __init__(self, hidden_layer_sizes=(256, 256), *, visible="auto", learning_rate="auto", n_iter=10,
                 joint_learning_rate="auto", max_iter=10, lr_schedule="linear", n_mean_field=10, damping=0.0,
                 n_particles=100, n_gibbs=5, n_labels=None, batch_size=32, k=1, momentum=0.5, final_momentum=0.9, momentum_switch=5,
                 weight_decay=1e-4, centering=False, shuffle=True, checkpoint_dir=None, checkpoint_every=1,
                 device="cpu", random_state=None, verbose=False,
                 callbacks=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.joint_learning_rate = joint_learning_rate
        self.max_iter = max_iter
        self.lr_schedule = lr_schedule
        self.n_mean_field = n_mean_field
        self.damping = damping
        self.n_particles = n_particles
        self.n_gibbs = n_gibbs
        self.n_labels = n_labels
        self.batch_size = batch_size
        self.k = k
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.momentum_switch = momentum_switch
        self.weight_decay = weight_decay
        self.centering = centering
        self.shuffle = shuffle
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # training -----------------------------------------------------------------------------------
    def _joint_config(self):
        rate = self.joint_learning_rate
        if rate == "auto":
            rate = 0.005 if self.visible_ == "bernoulli" else 0.001
        return DBMConfig(learning_rate=rate, n_mean_field=self.n_mean_field, damping=self.damping,
                         n_particles=self.n_particles, n_gibbs=self.n_gibbs, momentum=self.momentum,
                         final_momentum=self.final_momentum, momentum_switch=self.momentum_switch,
                         weight_decay=self.weight_decay, schedule=self.lr_schedule, n_epochs=self.max_iter,
                         centering=self.centering)

    def _pretraining_layers(self, sizes, seeds, group, restoring):
        """One RBMLayer per hidden layer, its module scaled as :func:`pretraining_scales` says."""
        shared = {name: getattr(self, name) for name in _PRETRAINING}
        layers, n = [], len(sizes)
        for index, (size, seed, (up, down, _)) in enumerate(zip(sizes, seeds, pretraining_scales(n))):
            rbm = RBM(n_components=size, visible=self.visible_ if index == 0 else "bernoulli",
                      learning_rate=self.learning_rate, n_iter=self.n_iter, random_state=seed, verbose=self.verbose,
                      n_labels=self.n_labels if index == n - 1 else None, **shared)
            rbm._validate_params()
            layers.append(RBMLayer(rbm, f"pretraining {index + 1}/{n}", index, group, restoring=restoring,
                                   module=functools.partial(ScaledRBMModule, up=up, down=down)))
        return layers

    def _layer_sizes(self):
        return layer_sizes(self.hidden_layer_sizes)

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, resume=False):
        """Greedy pretraining, then joint training, on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored, or with ``n_labels`` the labels, array-like of shape (n_samples,); -1 marks unlabelled rows
        resume : bool, default=False
            Continue from the checkpoints in ``checkpoint_dir``, if there are any; the data and hyperparameters
            must be those of the interrupted fit.

        Returns
        -------
        self
        """
        sizes = self._layer_sizes()
        X = self._check_fit_X(X)  # the constraints and 'auto' leave Bernoulli or Gaussian units
        self._set_scaler(X)
        group = distributed.current()
        device = resolve_device(self.device, group)
        path, joint_path = self._checkpoint_path("pretraining.ckpt"), self._checkpoint_path("joint.ckpt")
        labelled = self.n_labels is not None
        key = checkpoint.fingerprint(X, y if labelled else None) if path is not None or resume else None
        joint = checkpoint.read_matching(joint_path, key, self._checkpoint_params(),
                                         checkpoint_defaults(self)) if resume else None
        init_seed, shuffle_seed, sample_seed, inference_seed, *seeds = seeds_from(self.random_state, 4 + len(sizes))
        data = self._encode(X if group is None else X[group.shard(X.shape[0])], device)
        self.module_ = DBMModule([X.shape[1], *sizes], visible=self.visible_, device=device, n_labels=self.n_labels)
        self.n_features_in_, self.history_, self.n_iter_, self._chains = X.shape[1], [], 0, None
        layers = self._pretraining_layers(sizes, seeds, group, lambda: checkpoint.restoring(path))
        joint_data = data
        if labelled:
            joint_data = torch.cat([data, self._label_rows(X, y, layers, group, device)], 1)
        self._inference_generator = make_generator(inference_seed, device)
        trainer = DBMTrainer(self.module_, self._joint_config(), make_generator(sample_seed, device), group)
        shuffle = make_generator(shuffle_seed, "cpu")
        if joint is not None:
            with checkpoint.restoring(joint_path):
                self._load_joint_state(*joint, trainer, shuffle)
        elif self.n_iter > 0:
            greedy_stack(layers, TensorRows(data, group), self._stack_resume(path, key) if resume else None,
                         self._stack_saver(path, key, [self.n_iter] * len(sizes)))
            compose([layer.rbm.module_ for layer in layers], self.module_)
            self.pretraining_history_ = [layer.rbm.history_ for layer in layers]
        else:
            init = make_generator(init_seed, "cpu")  # on the CPU: a seed gives the same weights on every device
            for weight in self.module_.weights:
                weight.copy_(torch.randn(weight.shape, generator=init) * 0.01)
            self.pretraining_history_ = []

        def record(epoch, metrics):
            self.history_.append(metrics)
            self.n_iter_ += 1
            if joint_path is not None and (self.n_iter_ % self.checkpoint_every == 0 or self.n_iter_ == self.max_iter):
                tensors, state = self._joint_state(trainer, shuffle)
                if distributed.is_main_process():
                    checkpoint.write(joint_path, tensors, {"fingerprint": key, "params": self._checkpoint_params(),
                                                           **state})
            return bar(epoch, metrics)

        with EpochBar(self.max_iter - self.n_iter_, "DBM joint training", self.verbose, "joint training",
                      model=self.module_, rows=data if isinstance(data, torch.Tensor) else None,
                      n_epochs=self.max_iter) as bar:
            train_dbm(trainer, joint_data, self.max_iter - self.n_iter_, self.batch_size,
                      shuffle if self.shuffle else None, start_epoch=self.n_iter_, callback=record)
        return self

    def _label_rows(self, X, y, layers, group, device):
        """One-hot label rows of this process's rows of X for the joint training (all zeros where unlabelled); sets
        ``classes_`` and makes the top pretraining RBM a label RBM on the labelled rows."""
        labels, labelled = layers[-1].set_classes(y, X.shape[0])
        layers[-1].prepare = label_rows(X, labels, labelled, layers, group,
                                        lambda rows: TensorRows(self._encode(rows, device), group))
        self.classes_ = layers[-1].rbm.classes_
        every = np.full(X.shape[0], -1)
        every[labelled] = labels
        return one_hot(every if group is None else every[group.shard(X.shape[0])], self.n_labels, self.module_.biases[0])

    def _joint_state(self, trainer, shuffle):
        """(tensors, JSON) of the joint training so far: the DBM, the trainer's state, the generators, the
        epoch count and the monitors."""
        tensors = {**self._get_state()[0], **{f"trainer.{k}": v for k, v in trainer.state_dict().items()},
                   "generator.shuffle": shuffle.get_state(), "generator.inference": self._inference_generator.get_state()}
        return tensors, {"n_iter": self.n_iter_, "history": self.history_,
                         "pretraining_history": self.pretraining_history_}

    def _load_module(self, tensors, prefix=""):
        """Copy the saved weights and biases (``_get_state``'s names) into ``module_``, shapes checked."""
        for i, w in enumerate(self.module_.weights):
            copy_tensor(w, tensors, f"{prefix}weight{i}")
        for i, b in enumerate(self.module_.biases):
            copy_tensor(b, tensors, f"{prefix}bias{i}")

    @torch.no_grad()
    def _load_joint_state(self, tensors, state, trainer, shuffle):
        self._load_module(tensors)
        trainer.load_state_dict({k[len("trainer."):]: v for k, v in tensors.items() if k.startswith("trainer.")})
        shuffle.set_state(tensors["generator.shuffle"])
        self._inference_generator.set_state(tensors["generator.inference"])
        self.n_iter_ = check_int(state["n_iter"], "n_iter", low=0)
        self.history_, self.pretraining_history_ = list(state["history"]), list(state["pretraining_history"])

    @property
    def components_(self):
        """The first layer's weights W_1, shape (hidden_layer_sizes[0], n_features) (as ``RBM.components_``;
        ``deepbelief.plot.plot_filters`` draws them)."""
        check_is_fitted(self, "module_")
        return to_numpy(self.module_.weights[0])

    # inference ----------------------------------------------------------------------------------
    def _encode(self, X, device=None):
        """NumPy rows -> tensor in model units (standardised for Gaussian units) on the model's (or ``device``)."""
        return to_tensor(self._standardize(X), self.module_.biases[0].device if device is None else device)

    def _decode(self, V):
        """Model units (tensor or NumPy) -> NumPy rows in the data's units."""
        V = to_numpy(V) if torch.is_tensor(V) else V
        return V if self.data_mean_ is None else V * self.data_scale_ + self.data_mean_

    def _rows(self, fn, X):
        """``fn`` (tensor -> tensor) applied to the encoded rows of X in chunks; NumPy result."""
        chunk = chunk_rows(X, INFERENCE_CHUNK)
        return np.concatenate([to_numpy(fn(self._encode(dense_rows(X, i, i + chunk))))
                               for i in range(0, X.shape[0], chunk)])

    def _check(self, X):
        check_is_fitted(self, "module_")
        return check_X(self, X, reset=False, units=self.visible_)

    def _generator(self, random_state):
        if random_state is None:
            return self._inference_generator
        return make_generator(seeds_from(random_state, 1)[0], self.module_.biases[0].device)

    def _check_layer(self, layer):
        return check_layer(layer, self.module_.n_hidden_layers, "DBM")

    @torch.no_grad()
    def transform(self, X, layer=-1):
        """Mean-field posterior means E_Q[h^layer | v] (``n_mean_field`` iterations).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        layer : int, default=-1, the hidden layer, 0-based from the bottom; -1 is the top

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[layer]), float32
        """
        X = self._check(X)
        index = self._check_layer(layer) + 1
        return self._rows(lambda v: self.module_.mean_field(v, self.n_mean_field, self.damping)[index], X)

    @torch.no_grad()
    def reconstruct(self, X):
        """E[v | mu_1], the visible means given the mean-field posterior of the first hidden layer, in the data's
        units; shape (n_samples, n_features)."""
        X = self._check(X)
        dbm = self.module_

        def reconstruct(v):
            return dbm.visible.mean(dbm.pre(0, dbm.mean_field(v, self.n_mean_field, self.damping)))

        return self._decode(self._rows(reconstruct, X))

    @torch.no_grad()
    def score_samples(self, X):
        """The mean-field lower bound on log p*(x) = log p(x) + log Z per row (higher = more typical), in the
        data's units: -E_Q[E(v, h)] + H(Q). Subtract log Z (``deepbelief.evaluate.ais(dbm)``) for a lower bound on
        the log-likelihood (``deepbelief.evaluate.log_likelihood`` does). Shape (n_samples,)."""
        X = self._check(X)
        dbm = self.module_
        bound = self._rows(lambda v: dbm.mean_field_bound(dbm.mean_field(v, self.n_mean_field, self.damping)), X)
        return bound.astype(np.float64) + self._data_log_jacobian()

    @available_if(has_labels)
    @torch.no_grad()
    def predict_proba(self, X):
        """P(y | x) as the DBM approximates it (``n_labels`` models): for each label y the mean-field lower bound
        B(x, y) on log p*(x, y) with the label clamped, then softmax over y of B(x, y). With one hidden layer the
        bound is exact and so is P(y | x). Shape (n_samples, n_labels)."""
        X = self._check(X)
        dbm, K = self.module_, self.n_labels

        def proba(v):
            labels = torch.eye(K, dtype=v.dtype, device=v.device).repeat(v.shape[0], 1)
            mu = dbm.mean_field(v.repeat_interleave(K, 0), self.n_mean_field, self.damping, labels=labels)
            return torch.softmax(dbm.mean_field_bound(mu).reshape(-1, K), 1)

        return probabilities(self._rows(proba, X))

    def _start(self, v, generator, labels=None):
        """Chains for rows v (encoded): v with hidden layers sampled from its mean-field posterior."""
        dbm = self.module_
        mu = dbm.mean_field(v, self.n_mean_field, self.damping, labels=labels)
        return [v, *(dbm.units(layer).sample(None, m, generator) for layer, m in enumerate(mu[1:], 1))]

    @torch.no_grad()
    def generate(self, n_samples, n_gibbs=100, burn_in=1000, init=None, random_state=None,
                 return_probabilities=False, mean_field=False, label=None):
        """Samples of v by block Gibbs sampling of all layers.

        Chains persist between calls (``n_gibbs`` more sweeps each call) unless ``init`` or ``random_state`` is
        given or ``n_samples`` or ``label`` changes; new chains start from the biases alone (or from ``init`` rows
        and their mean-field posterior) and run ``burn_in`` sweeps first.

        Parameters
        ----------
        n_samples : int
        n_gibbs, burn_in : int, default=100, 1000
        init : array-like of shape (n_samples, n_features) or None
        random_state : int, RandomState or None (None: the model's own generator, which continues)
        return_probabilities : bool, default=False: return E[v | h^1] of the last sweep instead of samples
        mean_field : bool, default=False: read the chains out deterministically instead, E[v | mu_1] with mu the
            mean-field posterior of the chains' visible state
        label : a class label, an array of n_samples labels, or None
            With ``n_labels``: the class each chain's label layer is clamped to. None samples the labels too.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features), in the data's units
        """
        check_is_fitted(self, "module_")
        n_samples = check_count(n_samples, "n_samples", 1)
        n_gibbs, burn_in = check_count(n_gibbs, "n_gibbs"), check_count(burn_in, "burn_in")
        labels = self._clamped_labels(label, n_samples)
        generator = self._generator(random_state)
        chains, before = getattr(self, "_chains", None), getattr(self, "_chain_labels", None)
        same_labels = (labels is None) == (before is None) and (labels is None or torch.equal(labels, before))
        if (init is not None or random_state is not None or chains is None or chains[0].shape[0] != n_samples
                or not same_labels):
            if init is not None:
                X = check_X(self, init, reset=False, units=self.visible_)
                if X.shape[0] != n_samples:
                    raise ValueError(f"init has {X.shape[0]} rows but n_samples={n_samples}")
                chains = self._start(self._encode(X), generator, labels)
            else:
                chains = self.module_.start_chains(n_samples, generator)
            chains, _ = self.module_.gibbs(chains, burn_in, generator, labels=labels)
        chains, mean = self.module_.gibbs(chains, n_gibbs, generator, labels=labels)
        self._chains, self._chain_labels = chains, labels
        if mean_field:
            dbm = self.module_
            mean = dbm.visible.mean(dbm.pre(0, dbm.mean_field(chains[0], self.n_mean_field, self.damping)))
            return self._decode(mean)
        return self._decode(mean if return_probabilities else chains[0])

    def _clamped_labels(self, label, n_samples):
        if label is None:
            return None
        if self.n_labels is None:
            raise ValueError("label= needs label units: fit the DBM with n_labels (a softmax label layer above the "
                             "top hidden layer) and fit(X, y)")
        return clamped_labels(label, self.classes_, n_samples, self.module_.biases[0])

    @torch.no_grad()
    def denoise(self, X, mask=None, n_gibbs=100, random_state=None):
        """Fill in unknown entries (``mask`` True, or NaN) by Gibbs sampling of all layers with the known entries
        clamped; the estimate averages E[v | h^1] over the second half of the ``n_gibbs`` sweeps. Without unknown
        entries, :meth:`reconstruct`. Returns an array of X's shape; the known entries unchanged."""
        check_is_fitted(self, "module_")
        n_gibbs = check_count(n_gibbs, "n_gibbs", 1)
        X, unknown = check_masked_X(self, X, mask, units=self.visible_)
        if unknown is None:
            return self.reconstruct(X)
        dbm, generator = self.module_, self._generator(random_state)
        v = self._encode(X)
        unknown_t = torch.as_tensor(unknown, device=v.device)
        v = torch.where(unknown_t, dbm.visible.mean(dbm.biases[0]).expand_as(v), v)
        chains, known = self._start(v, generator), (unknown_t, v.clone())
        total, start = torch.zeros_like(v), n_gibbs // 2
        for sweep in range(n_gibbs):
            chains, mean = dbm.gibbs(chains, 1, generator, known)
            if sweep >= start:
                total += mean
        out = self._decode(total / (n_gibbs - start))
        return np.where(unknown, out, X).astype(X.dtype)

    # persistence --------------------------------------------------------------------------------
    def _get_state(self, prefix=""):
        check_is_fitted(self, "module_")
        m = self.module_
        tensors = {**{f"{prefix}weight{i}": w for i, w in enumerate(m.weights)},
                   **{f"{prefix}bias{i}": b for i, b in enumerate(m.biases)}}
        state = {"params": json_params(self), "n_features_in": int(self.n_features_in_), "n_iter": self.n_iter_,
                 "history": self.history_, "pretraining_history": self.pretraining_history_,
                 "classes": io.encode_array(self.classes_) if self.n_labels is not None else None,
                 **self._scaler_state(), **self._visible_state()}
        return tensors, state

    @classmethod
    def _from_state(cls, state, tensors, device=None, prefix=""):
        dbm = restore_params(cls, state["params"], device)
        dbm._set_visible_state(state)
        if dbm.visible_ not in _DBM_VISIBLE:
            raise ValueError(f"the saved visible units {dbm.visible_!r} are not a DBM's")
        n_features = check_int(state["n_features_in"], "n_features_in")
        sizes = [n_features, *layer_sizes(dbm.hidden_layer_sizes)]
        hidden_sizes, sizes = sizes, sizes + ([dbm.n_labels] if dbm.n_labels is not None else [])
        check_shapes(tensors, {**{f"weight{i}": (n_out, n_in) for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))},
                               **{f"bias{i}": (n,) for i, n in enumerate(sizes)}}, prefix)
        dbm.module_ = module = DBMModule(hidden_sizes, visible=dbm.visible_, device=resolve_device(dbm.device),
                                         n_labels=dbm.n_labels)
        if dbm.n_labels is not None:
            dbm.classes_ = io.decode_classes(state.get("classes"))
            if dbm.classes_ is None or dbm.classes_.shape != (dbm.n_labels,):
                raise ValueError("the saved classes do not match n_labels")
        dbm._load_module(tensors, prefix)
        dbm.n_features_in_, dbm._chains = n_features, None
        dbm.n_iter_ = check_int(state["n_iter"], "n_iter", low=0)
        dbm.history_, dbm.pretraining_history_ = list(state["history"]), list(state["pretraining_history"])
        dbm._inference_generator = make_generator(seeds_from(dbm.random_state, 4)[3], module.biases[0].device)
        dbm._set_scaler_state(state, n_features)
        return dbm

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.positive_only = self._positive_only()
        return tags
