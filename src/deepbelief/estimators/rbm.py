"""The RBM estimator: scikit-learn API over :class:`~deepbelief.core.rbm.RBMModule` and CD training."""
import dataclasses
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .. import distributed, io
from .._runtime import make_generator, memory_errors, seeds_from, to_numpy, to_tensor
from .._validation import FLOAT32_MAX, INFERENCE_CHUNK, check_range, check_X, chunk_rows, dense_rows, issparse
from ..callbacks import reports
from ..core.dbn import DBNModule
from ..core.units import HIDDEN_UNITS, VISIBLE_UNITS, get_units
from ..data.streaming import is_streamed
from ..errors import TrainingDivergedError
from ..training import OBJECTIVES, UNLABELLED_OBJECTIVES, TensorRows, divergence
from ._cd_parameters import CD_PARAMETER_CONSTRAINTS, cd_config
from ._persist import SaveMixin, check_int, check_shapes, copy_tensor, json_params, restore_params
from ._labels import LabelModelMixin, has_labels, probabilities
from ._sampling import RBMSamplingMixin
from ._scoring import RBMScoringMixin
from ._scaling import AutoVisibleMixin, GaussianScalingMixin
from ._layer import RBMLayer
from ._stream import fit_streamed


class RBM(LabelModelMixin, RBMScoringMixin, RBMSamplingMixin, AutoVisibleMixin, GaussianScalingMixin, SaveMixin,
          TransformerMixin, BaseEstimator):
    """Restricted Boltzmann machine trained with contrastive divergence (CD-k) or persistent CD.

    Energy E(v, h) = -a.v - b.h - v^T W h for Bernoulli visible units; Gaussian visible units
    (``visible='gaussian'``) have unit variance and replace -a.v by 0.5 ||v - a||^2. The data are then
    standardised feature by feature at ``fit`` (mean 0, variance 1, stored as ``data_mean_`` and
    ``data_scale_``), every method standardises its input the same way, and every method that returns
    visible values (``inverse_transform``, ``reconstruct``, ``gibbs``) maps them back to the data's units.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    visible : {'auto', 'bernoulli', 'gaussian', 'relu'}, default='auto'
        Visible unit type. Bernoulli units need data in [0, 1], rectified linear ('relu') units data >= 0.
        'auto' (the default) chooses at ``fit``: Bernoulli units when the training data lie in [0, 1] (within
        1e-5) and at least a quarter of the values are 0 or 1 (binary data, images; probabilities such as another
        model's ``transform`` have none, so pass ``visible='bernoulli'`` to take them as Bernoulli means), else
        Gaussian units with the per-feature standardisation; the choice is the fitted attribute ``visible_`` (and
        is printed with ``verbose``).
    hidden : {'bernoulli', 'relu', 'gaussian'}, default='bernoulli'
        Hidden unit type: binary, noisy rectified linear (Nair & Hinton 2010) for features >= 0, or linear with
        unit-variance Gaussian noise (the code layer of a deep autoencoder, Hinton & Salakhutdinov 2006).
    learning_rate : float or 'auto', default='auto'
        Step size of the updates; 'auto' is 0.1 when both layers are Bernoulli and 0.01 otherwise.
    lr_schedule : {'constant', 'linear', 'cosine'}, default='constant'
        The learning rate over the ``n_iter`` epochs of ``fit``: constant, decayed linearly towards 0 (epoch e of n
        at learning_rate * (1 - e / n), as Tieleman 2008 did for PCD), or by a half cosine. Decaying the rate lets
        the final epochs settle instead of jittering around the optimum, which raises the likelihood (see
        BENCHMARKS.md). ``partial_fit`` always steps at ``learning_rate``.
    batch_size : int, default=32
        Rows per update. A batch larger than the data means one update per epoch over all rows.
    n_iter : int, default=10
        Epochs (passes over the training data).
    k : int, default=1
        Gibbs steps per update (CD-k).
    persistent : bool, default=False
        Persistent CD (Tieleman 2008): the negative chains continue across updates.
    sampler : {'gibbs', 'fast', 'tempered'}, default='gibbs'
        Where the negative particles come from: 'gibbs' the chains of CD-k or PCD-k (``persistent``); 'fast'
        fast-weights PCD (Tieleman & Hinton 2009: persistent chains sampled from the parameters plus fast ones that
        take each step at the learning rate and decay by 0.95 per update); 'tempered' parallel tempering
        (persistent chains at ``n_temperatures`` inverse temperatures from 1 down to 0, neighbours swapping states
        after every k sweeps; Desjardins et al. 2010). Both are persistent whatever ``persistent`` says.
    n_temperatures : int, default=10
        Temperatures of ``sampler='tempered'``.
    momentum, final_momentum : float, default=0.5, 0.9
        Momentum of the first ``momentum_switch`` epochs, then afterwards (Hinton's 0.5 -> 0.9 schedule;
        set both equal for a constant momentum). ``partial_fit`` uses the momentum of the epoch count
        reached by earlier ``fit`` calls.
    momentum_switch : int, default=5
    weight_decay : float, default=1e-4
        L2 penalty on the weights.
    sparsity_target, sparsity_cost : float, default=0.1, 0.0
        Target mean activation of the hidden units and the strength of the penalty (0 disables it).
    centering : bool, default=False
        Train with the centred gradient (Melchior, Fischer & Wiskott 2016): the steps of an RBM whose visible
        and hidden states are taken relative to offsets (moving averages of the data's visible means and of
        the hidden probabilities given the data), applied to the ordinary parameters, so the fitted model is an
        ordinary RBM. Any unit types: the offsets only move terms linear in v and h, so for Gaussian or
        rectified units (whose energies add terms in v or h alone) it is the same reparametrisation.
    n_labels : int or None, default=None
        With K labels, the visible layer also holds K one-hot (softmax) label units and ``fit(X, y)`` learns the
        joint distribution of data and labels (a generative classifier; the top layer of a labelled DBN).
        ``predict`` and ``predict_proba`` then give P(y | x) from the free energies; rows labelled -1 are
        unlabelled (left out unless ``unlabelled_weight`` > 0).
    objective : {'generative', 'discriminative', 'hybrid'}, default='generative'
        What a label model learns (Larochelle & Bengio 2008): 'generative' the joint log P(x, y) by CD;
        'discriminative' the conditional log P(y | x) by its exact gradient (a classifier, no sampling); 'hybrid'
        log P(y | x) + ``generative_weight`` * log P(x, y). With a discriminative objective ``history_`` reports
        'log_loss' (and with ``validation_fraction`` 'log_loss_valid' and 'error_valid').
    generative_weight : float, default=0.01
        alpha of the hybrid objective (Larochelle & Bengio's 0.01 on MNIST); used by 'hybrid' only.
    unlabelled_weight : float, default=0.0
        beta of semi-supervised training: rows labelled -1 add beta * log P(x) (by CD, their label drawn from
        P(y | x)) to any objective. 0 leaves them out.
    hidden_bias_decrement : float, default=0.0
        Subtracted from every hidden bias after each update: the sparse hybrid classification RBM's way to sparse
        hidden activity (Larochelle, Mandel, Pascanu & Bengio 2012; any objective takes it). A constant per update,
        not scaled by the learning rate; 0 disables it. ``sparsity_cost`` is the other, target-driven way.
    unlabelled_objective : {'generative', 'entropy', 'information'}, default='generative'
        What the unlabelled rows add: beta * log P(x), or with 'entropy' -beta * H(P(y | x)), the entropy of
        their label posterior (entropy regularisation, Grandvalet & Bengio 2005: confident predictions on the
        unlabelled rows; exact gradient, no sampling), or with 'information' beta * (H(pbar) - H(P(y | x))), pbar
        the batch's mean posterior over its unlabelled rows: confident predictions spread over the classes (a
        mutual-information estimate; with few labels 'entropy' puts every row in one class, this does not).
    validation_fraction : float or None, default=None
        Fraction of the rows held out to monitor the free-energy gap between held-out and training data.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    device : str or torch.device, default='cpu'
        'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when available).
    precision : {'float32', 'tf32', 'bfloat16'}, default='float32'
        Precision of the matrix products during training: 'tf32' uses CUDA tensor cores (10-bit mantissas; the same
        as 'float32' on a CPU), 'bfloat16' rounds the products' inputs to bfloat16 (autocast) while parameters,
        sampling and sums stay float32. Faster on GPUs, at the cost of rounding noise (see docs/rbm.md).
    random_state : int, RandomState or None
        Seeds initialisation, shuffling and sampling; the same seed on the same device gives the same model.
    verbose : bool or int, default=False
        Show a progress bar with the monitors.
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights W^T, as in scikit-learn's BernoulliRBM.
    intercept_hidden_ : ndarray of shape (n_components,)
    intercept_visible_ : ndarray of shape (n_features,)
    data_mean_, data_scale_ : ndarray of shape (n_features,) or None
        The standardisation of Gaussian visible units (None for Bernoulli units).
    history_ : list of dict
        Per epoch: 'reconstruction_error' (mean squared error per element, in standardised units for Gaussian
        visible units) and, with ``validation_fraction``, 'free_energy_train', 'free_energy_valid',
        'free_energy_gap'.
    n_iter_ : int
        Epochs trained.
    module_ : RBMModule
        The underlying torch module.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import RBM
    >>> X = load_digits().data / 16
    >>> rbm = RBM(n_components=64, n_iter=5, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (1797, 64)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions(VISIBLE_UNITS), StrOptions({"auto"})],
        "hidden": [StrOptions(HIDDEN_UNITS)],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_labels": [Interval(Integral, 2, None, closed="left"), None],
        "objective": [StrOptions(set(OBJECTIVES))],
        "generative_weight": [Interval(Real, 0, None, closed="left")],
        "unlabelled_weight": [Interval(Real, 0, None, closed="left")],
        "unlabelled_objective": [StrOptions(set(UNLABELLED_OBJECTIVES))],
        "hidden_bias_decrement": [Interval(Real, 0, None, closed="left")],
        **CD_PARAMETER_CONSTRAINTS,
    }

    def __init__(self, n_components=256, *, visible="auto", hidden="bernoulli", learning_rate="auto",
                 lr_schedule="constant", batch_size=32, n_iter=10, k=1, persistent=False, sampler="gibbs",
                 n_temperatures=10, momentum=0.5,
                 final_momentum=0.9, momentum_switch=5, weight_decay=1e-4, sparsity_target=0.1, sparsity_cost=0.0,
                 centering=False, n_labels=None, objective="generative", generative_weight=0.01, unlabelled_weight=0.0,
                 unlabelled_objective="generative", hidden_bias_decrement=0.0,
                 validation_fraction=None, shuffle=True, device="cpu", precision="float32", random_state=None,
                 verbose=False,
                 callbacks=None):
        self.n_components = n_components
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
        self.n_labels = n_labels
        self.objective = objective
        self.generative_weight = generative_weight
        self.unlabelled_weight = unlabelled_weight
        self.unlabelled_objective = unlabelled_objective
        self.hidden_bias_decrement = hidden_bias_decrement
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # construction -------------------------------------------------------------------------------
    def _cd_config(self):
        lr = self.learning_rate
        if lr == "auto":
            lr = min(get_units(self.visible_).default_learning_rate, get_units(self.hidden).default_learning_rate)
        if not (isinstance(lr, Real) and lr < FLOAT32_MAX):  # the updates are float32
            raise ValueError(f"learning_rate={lr!r} is beyond float32's range (3.4e38), so every update would "
                             "overflow; CD rates are about 0.001-0.1")
        return dataclasses.replace(cd_config(self, lr), hidden_bias_decrement=float(self.hidden_bias_decrement))

    def _encode(self, X):
        """NumPy data -> tensor in model units (standardised for Gaussian visible units)."""
        return to_tensor(self._standardize(X), self.module_.weight.device)

    def _decode(self, V):
        """Visible values in model units (a tensor or NumPy array) -> NumPy in data units."""
        V = to_numpy(V) if torch.is_tensor(V) else V
        if self.data_mean_ is not None:
            V = V * self.data_scale_ + self.data_mean_
        return V

    @classmethod
    def from_weights(cls, weights, visible_bias, hidden_bias, *, visible="bernoulli", **params):
        """A fitted RBM from textbook parameters of E(v, h) = -a.v - b.h - v^T W h.

        Parameters
        ----------
        weights : array of shape (n_visible, n_hidden)
            W in the textbook orientation (``components_`` is its transpose).
        visible_bias : array of shape (n_visible,)
        hidden_bias : array of shape (n_hidden,)
        visible : {'bernoulli', 'gaussian'}
            Gaussian units take the parameters in model units: no standardisation is applied.
        **params : other constructor parameters (used if training continues with ``partial_fit``).
        """
        W = check_array(weights, dtype=np.float64, input_name="weights")
        a = check_array(np.atleast_2d(visible_bias), dtype=np.float64, input_name="visible_bias").ravel()
        b = check_array(np.atleast_2d(hidden_bias), dtype=np.float64, input_name="hidden_bias").ravel()
        n_visible, n_hidden = W.shape
        if a.shape != (n_visible,) or b.shape != (n_hidden,):
            raise ValueError(f"weights of shape {W.shape} (n_visible, n_hidden) need visible_bias of shape "
                             f"({n_visible},) and hidden_bias of shape ({n_hidden},); got {a.shape} and {b.shape}")
        if visible == "auto":
            raise ValueError("from_weights needs the visible unit type ('bernoulli' or 'gaussian'), not 'auto'")
        rbm = cls(n_components=n_hidden, visible=visible, **params)
        rbm._validate_params()
        RBMLayer(rbm).begin(n_visible)
        rbm.module_.weight.copy_(torch.as_tensor(W.T))
        rbm.module_.visible_bias.copy_(torch.as_tensor(a))
        rbm.module_.hidden_bias.copy_(torch.as_tensor(b))
        rbm.n_features_in_ = n_visible
        if get_units(visible).standardized:
            rbm.data_mean_, rbm.data_scale_ = np.zeros(n_visible, np.float32), np.ones(n_visible, np.float32)
        else:
            rbm.data_mean_ = rbm.data_scale_ = None
        return rbm

    # fitted parameters as scikit-learn names them -------------------------------------------------
    @property
    def components_(self):
        check_is_fitted(self, "module_")
        return to_numpy(self.module_.weight[:, : self.n_features_in_])

    @property
    def intercept_hidden_(self):
        check_is_fitted(self, "module_")
        return to_numpy(self.module_.hidden_bias)

    @property
    def intercept_visible_(self):
        check_is_fitted(self, "module_")
        return to_numpy(self.module_.visible_bias[: self.n_features_in_])

    @property
    def label_components_(self):
        """Weights of the label units, shape (n_components, n_labels) (label models only)."""
        check_is_fitted(self, "classes_")
        return to_numpy(self.module_.weight[:, self.n_features_in_:])

    @property
    def intercept_label_(self):
        """Biases of the label units, shape (n_labels,) (label models only)."""
        check_is_fitted(self, "classes_")
        return to_numpy(self.module_.visible_bias[self.n_features_in_:])

    # training -----------------------------------------------------------------------------------
    def _check(self, X, reset=False, sparse=True):
        """Validated rows (a SciPy sparse matrix stays one, as CSR, unless ``sparse`` is False)."""
        return check_X(self, X, reset=reset, units=self.visible_, sparse=sparse)

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the RBM to X with ``n_iter`` epochs of CD-k (or PCD-k).

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (n_samples, n_features) (sparse rows are densified one
            mini-batch at a time), or the path of a .npy file / a np.memmap of one, which
            is streamed block by block instead of loaded (see :mod:`deepbelief.streaming`)
        y : ignored, or with ``n_labels`` the labels, array-like of shape (n_samples,); -1 marks unlabelled rows,
            which are left out

        Returns
        -------
        self
        """
        if is_streamed(X):
            fit_streamed([self], X, "mean", self)
            return self
        X = self._check_fit_X(X, sparse=True)
        group = distributed.current()
        layer = RBMLayer(self, group=group)
        data_rows = np.arange(X.shape[0])
        if self.n_labels is not None:
            labels, data_rows = layer.set_classes(y, X.shape[0])
        self._set_scaler(X)
        layer.begin(X.shape[1])
        if group is not None:  # data parallelism: this rank's shard of the rows
            shard = group.shard(len(data_rows))
            data_rows, labels = data_rows[shard], (labels[shard] if self.n_labels is not None else None)
        rows = layer.rows(X[data_rows])
        layer.fit(rows if self.n_labels is None else rows.append(layer.one_hot(labels)))
        return self

    @memory_errors
    def partial_fit(self, X, y=None):
        """One CD update on the batch X (all rows at once), initialising the model on the first call.

        For Gaussian visible units the standardisation is fixed from the first batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        first = not hasattr(self, "module_")
        if first:
            self._validate_params()
        if self.n_labels is not None:
            raise ValueError("partial_fit does not take labels; train a model with n_labels using fit(X, y)")
        X = (self._check_fit_X(X, sparse=True) if first else
             check_X(self, X, reset=False, units=self.visible_, training=True, sparse=True))
        X = X.toarray() if issparse(X) else X  # one batch
        if first:
            self._set_scaler(X)
            layer = RBMLayer(self)
            layer.begin(X.shape[1])
        data = self._encode(X)
        if first:
            layer.set_visible_bias(TensorRows(data).mean())
        good = self._trainer.snapshot()
        error = self._trainer.step(data, self.n_iter_, learning_rate=self._trainer.config.learning_rate)
        why = divergence(float(error), float(error), self._trainer.params)  # the rule of every training path
        if why is not None:
            self._trainer.restore(good)
            raise TrainingDivergedError(f"partial_fit diverged: the parameters or the reconstruction error {why} "
                                        f"(learning_rate={self._trainer.config.learning_rate}). The model keeps its "
                                        "parameters from before this batch; lower the learning rate")
        return self

    # inference ----------------------------------------------------------------------------------
    def _rows(self, fn, X):
        """Apply ``fn`` (tensor -> tensor) to the encoded rows of X in chunks; NumPy result."""
        chunk = chunk_rows(X, INFERENCE_CHUNK)
        out = [to_numpy(fn(self._encode(dense_rows(X, i, i + chunk)))) for i in range(0, X.shape[0], chunk)]
        return np.concatenate(out)

    def _generator(self, random_state):
        if random_state is None:
            return self._inference_generator
        return make_generator(seeds_from(random_state, 1)[0], self.module_.weight.device)

    def _complete(self, v):
        """Data rows -> full visible rows: [v, P(y | v)] for label models, else v."""
        return v if self.n_labels is None else self.module_.complete(v)

    def _data_part(self, V):
        return V[:, : self.n_features_in_]

    def _hidden_mean(self, v):
        """E[h | v]; for label models the expectation over the unknown label, sum_y P(y | v) E[h | v, y]."""
        return self.module_.prob_h_given_v(v) if self.n_labels is None else self.module_.label_hidden_mean(v)

    def _mean_field(self, v):
        """E[v | E[h | v]] of data rows ``v`` in model units (the data part: label units are summed out)."""
        return self._data_part(self.module_.mean_v_given_h(self._hidden_mean(v)))

    @available_if(has_labels)
    @torch.no_grad()
    def predict_proba(self, X):
        """P(y | x) = softmax over labels of -F(x, y) (label models), shape (n_samples, n_labels)."""
        check_is_fitted(self, "classes_")
        return probabilities(self._rows(self.module_.label_posterior, self._check(X)))

    @torch.no_grad()
    def transform(self, X):
        """Hidden activation probabilities P(h=1 | v) (for relu hidden units their mean max(0, b + W v)).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        H : ndarray of shape (n_samples, n_components), float32
        """
        check_is_fitted(self, "module_")
        return self._rows(self._hidden_mean, self._check(X))

    @torch.no_grad()
    def inverse_transform(self, H):
        """Mean visible values E[v | h] (in the data's units).

        Parameters
        ----------
        H : array-like of shape (n_samples, n_components), values in [0, 1] (>= 0 for relu hidden units)

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "module_")
        H = check_array(H, dtype=(np.float32, np.float64), input_name="H")
        if H.shape[1] != self.n_components:
            raise ValueError(f"H has {H.shape[1]} columns but the RBM has n_components={self.n_components}")
        check_range(H, self.hidden, type(self).__name__ + "'s hidden layer", "H")
        V = self.module_.mean_v_given_h(to_tensor(H, self.module_.weight.device))
        return self._decode(self._data_part(V))

    def _stack(self):
        """This RBM as a one-layer DBN (for sampling)."""
        if getattr(self, "_stack_module", None) is None:
            self._stack_module = DBNModule([self.module_])
        return [self], self._stack_module

    # persistence --------------------------------------------------------------------------------
    def _get_state(self, prefix=""):
        check_is_fitted(self, "module_")
        state = {"params": json_params(self), "n_features_in": int(self.n_features_in_), "n_iter": self.n_iter_,
                 "history": self.history_, **self._scaler_state(), **self._visible_state(),
                 "classes": io.encode_array(self.classes_) if self.n_labels is not None else None}
        m = self.module_
        tensors = {f"{prefix}weight": m.weight, f"{prefix}visible_bias": m.visible_bias,
                   f"{prefix}hidden_bias": m.hidden_bias}
        return tensors, state

    @classmethod
    def _from_state(cls, state, tensors, device=None, prefix=""):
        rbm = restore_params(cls, state["params"], device)
        n_features = check_int(state["n_features_in"], "n_features_in")
        rbm._set_visible_state(state)
        n_visible = n_features + (rbm.n_labels or 0)
        check_shapes(tensors, {"weight": (rbm.n_components, n_visible), "visible_bias": (n_visible,),
                               "hidden_bias": (rbm.n_components,)}, prefix)
        RBMLayer(rbm).begin(n_features)
        for name in ("weight", "visible_bias", "hidden_bias"):
            copy_tensor(getattr(rbm.module_, name), tensors, prefix + name)
        rbm.n_features_in_ = n_features
        rbm.n_iter_ = check_int(state["n_iter"], "n_iter", low=0)
        rbm.history_ = list(state["history"])
        if rbm.n_labels is not None:
            rbm.classes_ = io.decode_classes(state["classes"])
            if rbm.classes_.shape != (rbm.n_labels,):
                raise ValueError("the saved classes do not match n_labels")
        rbm._set_scaler_state(state, n_features)
        return rbm

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.positive_only = self._positive_only()
        tags.input_tags.sparse = True  # densified batch by batch
        return tags
