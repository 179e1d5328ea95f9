"""Sequence models: the conditional RBM and the conditional DBN (Taylor, Hinton & Roweis 2007) for video and motion.

A sequence is an array of shape (n_frames, n_features); the estimators take one sequence or a list of sequences of
different lengths. Frame t is modelled given the ``order`` frames before it, so each sequence contributes
``n_frames - order`` training rows.
"""
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._runtime import make_generator, memory_errors, resolve_device, seeds_from, to_numpy, to_tensor
from .._validation import check_range, clearer
from ..callbacks import reports
from ..core.crbm import ConditionalRBMModule
from ..core.units import STACKED_UNITS, VISIBLE_UNITS, get_units
from ..training import CDTrainer
from ._cd_parameters import CD_PARAMETER_CONSTRAINTS, SEQUENCE_CD_PARAMETERS, cd_config
from ._persist import SaveMixin, check_int, check_shapes, copy_tensor, json_params, restore_params
from ._sequence_layer import ConditionalLayer, SequenceRows
from ._scaling import AutoVisibleMixin, GaussianScalingMixin

SEQUENCE_CD_CONSTRAINTS = {
    "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "n_iter": [Interval(Integral, 0, None, closed="left")],
    **{name: CD_PARAMETER_CONSTRAINTS[name] for name in SEQUENCE_CD_PARAMETERS},
    "n_gibbs": [Interval(Integral, 1, None, closed="left")],
    "n_predict_steps": [Interval(Integral, 1, None, closed="left")],
}
# What a conditional DBN passes to each of its layers.
SEQUENCE_SHARED = tuple(name for name in SEQUENCE_CD_CONSTRAINTS if name not in ("learning_rate", "n_iter",
                                                                                  "random_state"))


def as_sequences(X, owner, n_features=None, units="gaussian", min_frames=1):
    """Validate one sequence (2-D array) or a list of them (or a 3-D array, one sequence per first index).

    Returns (list of float arrays of shape (n_frames_i, n_features), whether a single sequence was given).
    """
    single = hasattr(X, "ndim") and X.ndim == 2
    if single:
        X = [X]
    elif hasattr(X, "ndim") and X.ndim == 3:
        X = list(X)
    elif isinstance(X, (str, bytes)) or not hasattr(X, "__len__") or (hasattr(X, "ndim") and X.ndim < 2):
        raise ValueError(f"{owner} expects a sequence (array of shape (n_frames, n_features)) or a list of "
                         f"sequences; got {type(X).__name__}{getattr(X, 'shape', '')}")
    if len(X) == 0:
        raise ValueError(f"{owner} got an empty list of sequences")
    out = []
    for i, seq in enumerate(X):
        try:
            seq = check_array(seq, dtype=(np.float32, np.float64), input_name=f"sequence {i}")
        except ValueError as exc:
            raise clearer(exc, owner, f"sequence {i}") from None
        if n_features is not None and seq.shape[1] != n_features:
            raise ValueError(f"sequence {i} has {seq.shape[1]} features per frame, but {owner} is expecting "
                             f"{n_features} features as input")
        if seq.shape[0] < min_frames:
            raise ValueError(f"sequence {i} has {seq.shape[0]} frames; {owner} needs at least {min_frames}")
        n_features = seq.shape[1]
        check_range(seq, units, owner, what=f"sequence {i}")
        out.append(seq)
    dtype = np.result_type(*out)
    return [s.astype(dtype, copy=False) for s in out], single


def _frame_windows(frames, order):
    """Frames (..., T, F) -> (v_t of shape (..., T - order, F), u_t of shape (..., T - order, order * F))."""
    w = frames.unfold(-2, order + 1, 1).flip(-1)  # (..., T - order, F, order + 1), newest frame first
    return w[..., 0], w[..., 1:].transpose(-1, -2).flatten(-2)


def history(frames):
    """The history row [v_{t-1}, ..., v_{t-order}] of the frames (..., order, F) given oldest first."""
    return frames.flip(-2).flatten(-2)


def mean_squared_error(predictions, sequences, skip):
    """Mean over the predicted frames (frames ``skip``.. of each sequence) of the squared error summed over
    features."""
    return float(np.mean(np.concatenate([((p - s[skip:]) ** 2).sum(1) for p, s in zip(predictions, sequences)])))


def check_samples(n_samples):
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 0:
        raise ValueError(f"n_samples must be an integer >= 0 (0: mean-field prediction); got {n_samples!r}")
    return int(n_samples)


def check_steps(n_steps):
    if not isinstance(n_steps, Integral) or isinstance(n_steps, bool) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1; got {n_steps!r}")
    return int(n_steps)


class ConditionalRBM(AutoVisibleMixin, GaussianScalingMixin, SaveMixin, BaseEstimator):
    """Conditional RBM for sequences (Taylor, Hinton & Roweis 2007), trained with CD-k.

    Frame v_t and the hidden units form an RBM whose biases are linear in the ``order`` previous frames u_t:
    a_t = a + A u_t (autoregressive weights) and b_t = b + B u_t. Gaussian visible units (motion capture, joint
    angles) have unit variance and the frames are standardised feature by feature at ``fit``; Bernoulli visible
    units (video with pixels in [0, 1]) take the data as they are.

    Parameters
    ----------
    n_components : int, default=100
        Number of hidden units.
    order : int, default=3
        Number of earlier frames each frame is conditioned on.
    visible : {'gaussian', 'bernoulli', 'relu'}, default='gaussian'
        Units of the frames: real-valued (standardised), in [0, 1], or >= 0 (an upper layer of ReLU features).
    hidden : {'bernoulli', 'relu'}, default='bernoulli'
        Binary or noisy rectified linear hidden units; on motion, ReLU units predict better (BENCHMARKS.md).
    learning_rate : float or 'auto', default='auto'
        'auto' is 0.01 for Bernoulli visible units and 0.001 otherwise.
    batch_size : int, default=100
    n_iter : int, default=50
        Epochs over all training frames.
    k : int, default=1
        Gibbs steps per update (CD-k).
    momentum, final_momentum, momentum_switch : float, float, int, default=0.5, 0.9, 5
    weight_decay : float, default=2e-4
        L2 penalty on W, A and B (as Taylor et al.).
    lr_schedule : {'constant', 'linear', 'cosine'}, default='constant'
        The learning rate over the ``n_iter`` epochs (see :class:`RBM`).
    sparsity_target, sparsity_cost : float, default=0.1, 0.0
        Target mean activation of the hidden units and the penalty's strength (0 disables it), on the hidden
        biases and W.
    centering : bool, default=False
        The centred gradient (see :class:`RBM`): offsets for the frame v_t and the hidden units; A and B move as
        without it (the offsets shift only the static biases).
    validation_fraction : float or None, default=None
        Hold out this fraction of the training frames (chosen at random) and record the free-energy gap between
        them and as many training frames in ``history_`` (Hinton's overfitting monitor).
    precision : {'float32', 'tf32', 'bfloat16'}, default='float32'
        Of the training's matrix products (see :class:`RBM`). There is no ``persistent``: every frame has its own
        history, so a negative chain cannot carry over from one frame's model to another's.
    n_gibbs : int, default=30
        Gibbs steps per generated frame.
    n_predict_steps : int, default=5
        Updates per predicted frame (``predict``): few, because longer chains drift from the conditional mean
        towards one sharp mode, which costs squared error.
    shuffle : bool, default=True
    device : str or torch.device, default='cpu'
    random_state : int, RandomState or None
    verbose : bool or int, default=False
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    autoregressive_ : ndarray of shape (n_features, order * n_features)
        A, acting on the history [v_{t-1}, ..., v_{t-order}] (newest frame first), in standardised units.
    past_hidden_ : ndarray of shape (n_components, order * n_features)
        B, likewise.
    data_mean_, data_scale_ : ndarray of shape (n_features,) or None
    history_ : list of dict, per epoch 'reconstruction_error' (and with ``validation_fraction`` the free energies
        'free_energy_train', 'free_energy_valid' and their gap 'free_energy_gap')
    n_iter_ : int

    Examples
    --------
    >>> from deepbelief import ConditionalRBM
    >>> from deepbelief.datasets import make_walking_motion
    >>> sequences = make_walking_motion(4, 120, random_state=0)
    >>> crbm = ConditionalRBM(32, order=2, n_iter=2, random_state=0).fit(sequences)
    >>> crbm.generate(sequences[0][:2], n_steps=5).shape
    (5, 12)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "order": [Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions(VISIBLE_UNITS)],
        "hidden": [StrOptions(STACKED_UNITS)],
        **SEQUENCE_CD_CONSTRAINTS,
    }

    def __init__(self, n_components=100, *, order=3, visible="gaussian", hidden="bernoulli", learning_rate="auto",
                 batch_size=100, n_iter=50, k=1, momentum=0.5, final_momentum=0.9, momentum_switch=5,
                 weight_decay=2e-4, lr_schedule="constant", sparsity_target=0.1, sparsity_cost=0.0, centering=False,
                 validation_fraction=None, precision="float32", n_gibbs=30, n_predict_steps=5, shuffle=True,
                 device="cpu", random_state=None, verbose=False,
                 callbacks=None):
        self.n_components = n_components
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

    def _build(self, n_features):
        device = resolve_device(self.device)
        init_seed, shuffle_seed, sample_seed, inference_seed = seeds_from(self.random_state, 4)
        module = ConditionalRBMModule(n_features, self.n_components, self.order, self.visible, self.hidden,
                                      device=device)
        init = make_generator(init_seed, "cpu")  # drawn on the CPU: the same initial weights on every device
        module.weight.copy_(torch.randn(module.weight.shape, generator=init) * 0.01)
        lr = get_units(self.visible).conditional_learning_rate if self.learning_rate == "auto" else self.learning_rate
        config = cd_config(self, lr)
        self.module_, self.n_features_in_, self.n_iter_, self.history_ = module, n_features, 0, []
        self._trainer = CDTrainer(module, config, make_generator(sample_seed, device))
        self._shuffle_generator = make_generator(shuffle_seed, "cpu")
        self._inference_generator = make_generator(inference_seed, device)

    def _sequences(self, X, reset=False, min_frames=1):
        if not reset:
            check_is_fitted(self, "module_")
        n_features = None if reset else self.n_features_in_
        return as_sequences(X, type(self).__name__, n_features, self.visible, min_frames)

    def _encode(self, seq):
        return to_tensor(self._standardize(seq), self.module_.weight.device)

    def _decode(self, V):
        V = to_numpy(V)
        return V if self.data_mean_ is None else V * self.data_scale_ + self.data_mean_

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit to one sequence or a list of sequences, each an array of shape (n_frames_i, n_features).

        Returns
        -------
        self
        """
        sequences, _ = self._sequences(X, reset=True)
        layer = ConditionalLayer(self)
        layer.begin(sequences[0].shape[1])
        layer.fit(SequenceRows(sequences))
        return self

    # fitted parameters -----------------------------------------------------------------------------
    @property
    def components_(self):
        check_is_fitted(self, "module_")
        return to_numpy(self.module_.weight)

    @property
    def autoregressive_(self):
        check_is_fitted(self, "module_")
        return to_numpy(self.module_.autoregressive)

    @property
    def past_hidden_(self):
        check_is_fitted(self, "module_")
        return to_numpy(self.module_.past_hidden)

    # inference ---------------------------------------------------------------------------------------
    def _generator(self, random_state):
        if random_state is None:
            return self._inference_generator
        return make_generator(seeds_from(random_state, 1)[0], self.module_.weight.device)

    @torch.no_grad()
    def _features(self, frames):
        """E[h | v_t, u_t] for frames t >= order of ``frames`` (..., T, F) in model units, shape
        (..., T - order, n_components)."""
        m = self.module_
        v, u = _frame_windows(frames, self.order)
        return m.prob_h_given_v(v.flatten(0, -2), m.dynamic_biases(u.flatten(0, -2))[1]).unflatten(0, v.shape[:-1])

    def transform(self, X):
        """Hidden-unit probabilities E[h | v_t, u_t] of the frames that have a full history.

        Parameters
        ----------
        X : array of shape (n_frames, n_features) or a list of them

        Returns
        -------
        array of shape (n_frames - order, n_components), or a list of them for a list of sequences
        """
        sequences, single = self._sequences(X, min_frames=self.order + 1)
        out = [to_numpy(self._features(self._encode(s))) for s in sequences]
        return out[0] if single else out

    @torch.no_grad()
    def _predict_tensor(self, context, n_samples=0, generator=None):
        """The next frame after each context (n, order, F), model units: mean-field, or with ``n_samples`` the
        mean of E[v_t | h] over that many Gibbs chains."""
        m, u, v0 = self.module_, history(context), context[:, -1]
        if not n_samples:
            return m.mean_field_frame(u, v0, self.n_predict_steps)
        v = m.sample_frame(u.repeat(n_samples, 1), v0.repeat(n_samples, 1), self.n_predict_steps, generator)
        return v.unflatten(0, (n_samples, -1)).mean(0)

    def predict(self, X, n_samples=0, random_state=None):
        """One-step-ahead predictions: each frame t >= order predicted from the true frames before it.

        The prediction starts from the previous frame v_{t-1} and makes ``n_predict_steps`` updates with the
        history clamped: mean-field updates v <- E[v | h = E[h | v, u_t], u_t] (deterministic; the default), or,
        with ``n_samples``, Gibbs steps in that many chains whose final E[v_t | h] are averaged (a Monte Carlo
        estimate of the conditional mean, better for multi-modal futures such as colliding balls).

        Parameters
        ----------
        X : array of shape (n_frames, n_features) or a list of them
        n_samples : int, default=0
        random_state : int, RandomState or None (the estimator's own inference generator)

        Returns
        -------
        array of shape (n_frames - order, n_features), or a list of them for a list of sequences
        """
        sequences, single = self._sequences(X, min_frames=self.order + 1)
        n_samples, generator = check_samples(n_samples), self._generator(random_state)
        out = []
        for s in sequences:
            frames = self._encode(s)
            context = frames.unfold(0, self.order, 1)[:-1].transpose(1, 2)  # (n - order, order, F)
            out.append(self._decode(self._predict_tensor(context, n_samples, generator)))
        return out[0] if single else out

    def predict_next(self, X, n_samples=0, random_state=None):
        """The frame after the end of each sequence, predicted from its last ``order`` frames as in ``predict``.

        Returns
        -------
        array of shape (n_features,) for one sequence, (n_sequences, n_features) for a list
        """
        sequences, single = self._sequences(X, min_frames=self.order)
        context = torch.stack([self._encode(s[-self.order:]) for s in sequences])
        out = self._decode(self._predict_tensor(context, check_samples(n_samples), self._generator(random_state)))
        return out[0] if single else out

    def score(self, X, y=None):
        """Minus the mean squared one-step-ahead prediction error per frame (summed over features, data units)."""
        sequences, _ = self._sequences(X, min_frames=self.order + 1)
        return -mean_squared_error(self.predict(sequences), sequences, self.order)

    @torch.no_grad()
    def generate(self, seed_frames, n_steps, random_state=None):
        """Generate ``n_steps`` new frames after ``seed_frames`` by Gibbs sampling each frame given the ones
        before it (``n_gibbs`` steps from the previous frame, ending in the mean frame).

        Parameters
        ----------
        seed_frames : array of shape (n_seed, n_features) with n_seed >= order, or (n_sequences, n_seed,
            n_features) to generate several sequences at once
        n_steps : int >= 1
        random_state : int, RandomState or None (the estimator's own inference generator)

        Returns
        -------
        array of shape (n_steps, n_features), or (n_sequences, n_steps, n_features)
        """
        check_is_fitted(self, "module_")
        seeds, single = self._sequences(seed_frames, min_frames=self.order)
        n_steps = check_steps(n_steps)
        generator = self._generator(random_state)
        frames = torch.stack([self._encode(s[-self.order:]) for s in seeds])
        out = []
        for _ in range(n_steps):
            v = self.module_.sample_frame(history(frames), frames[:, -1], self.n_gibbs, generator)
            out.append(v)
            frames = torch.cat([frames[:, 1:], v[:, None]], 1)
        out = np.stack([self._decode(v) for v in out], 1)
        return out[0] if single else out

    # persistence -----------------------------------------------------------------------------------
    _TENSORS = ("weight", "visible_bias", "hidden_bias", "autoregressive", "past_hidden")

    def _get_state(self, prefix=""):
        check_is_fitted(self, "module_")
        state = {"params": json_params(self), "n_features_in": int(self.n_features_in_), "n_iter": self.n_iter_,
                 "history": self.history_, **self._scaler_state()}
        return {prefix + name: getattr(self.module_, name) for name in self._TENSORS}, state

    @classmethod
    def _from_state(cls, state, tensors, device=None, prefix=""):
        crbm = restore_params(cls, state["params"], device)
        n, h, past = check_int(state["n_features_in"], "n_features_in"), crbm.n_components, crbm.order
        check_shapes(tensors, {"weight": (h, n), "visible_bias": (n,), "hidden_bias": (h,),
                               "autoregressive": (n, past * n), "past_hidden": (h, past * n)}, prefix)
        crbm._build(n)
        for name in cls._TENSORS:
            copy_tensor(getattr(crbm.module_, name), tensors, prefix + name)
        crbm.n_iter_ = check_int(state["n_iter"], "n_iter", low=0)
        crbm.history_ = list(state["history"])
        crbm._set_scaler_state(state, crbm.n_features_in_)
        return crbm
