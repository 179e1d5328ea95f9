"""DeepAutoencoder: a pretrained DBN unrolled into an encoder and a decoder (Hinton & Salakhutdinov 2006)."""
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._runtime import make_generator, memory_errors, resolve_device, seeds_from, to_numpy, to_tensor
from .._validation import INFERENCE_CHUNK, check_X, layer_sizes
from ..callbacks import reports
from ..core.nets import linear_from
from ..training import SCHEDULES, FineTuneConfig, FineTuneProgress, fine_tune
from ._persist import SaveMixin, check_elements, check_int, json_params, restore_params
from ._progress import EpochBar
from ._nested import nested_dbn
from ._scaling import AutoVisibleMixin, GaussianScalingMixin
from .dbn import DBN
from .rbm import RBM



class _CodeDBN(DBN):
    """The deep autoencoder's pretraining: a DBN whose top RBM has Gaussian hidden units (the linear code) and
    whose 'auto' learning rates are the paper's, 0.001 for an RBM with Gaussian units and 0.1 otherwise."""

    def _layer_rbms(self, sizes):
        rbms = super()._layer_rbms(sizes)
        rbms[-1].hidden = "gaussian"
        for rbm in rbms:
            if rbm.learning_rate == "auto":
                rbm.learning_rate = 0.001 if "gaussian" in (rbm.visible, rbm.hidden) else 0.1
        return rbms


class DeepAutoencoder(AutoVisibleMixin, GaussianScalingMixin, SaveMixin, TransformerMixin, BaseEstimator):
    """Deep autoencoder: greedy RBM pretraining with a linear code layer, unrolled into an encoder and a decoder
    with tied initial weights, then fine-tuned end to end on the reconstruction error (Hinton & Salakhutdinov 2006).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(1000, 500, 250, 30)
        Encoder layer sizes; the last is the code. Hidden layers are logistic, the code layer linear (its RBM
        has Gaussian hidden units).
    visible : {'auto', 'bernoulli', 'gaussian'}, default='auto'
        Data in [0, 1] (reconstructed through a logistic output, cross-entropy loss) or real-valued data
        (standardised internally, linear output, squared error). 'auto' (the default) chooses at ``fit``:
        Bernoulli units when the training data lie in [0, 1] (within 1e-5) and at least a quarter of the values
        are 0 or 1 (binary data, images), else Gaussian units with the per-feature standardisation; the choice is
        the fitted attribute ``visible_`` (and is printed with ``verbose``).
    pretrain : bool, default=True
        False: the same network from Glorot-uniform random weights (the baseline).
    pretraining : DBN or None, default=None
        The pretraining as an unfitted :class:`DBN` (cloned, never fitted itself), for every CD option (momentum,
        weight decay, sparsity, centring, PCD, ...): ``DeepAutoencoder(pretraining=DBN((1000, 500, 250, 30),
        n_iter=20, centering=True))``. Its layer sizes are the network's, its top RBM gets Gaussian hidden units
        (the linear code), its hidden units must be Bernoulli and its ``learning_rate='auto'`` means the paper's
        rates below. Beside it, ``hidden_layer_sizes``, ``n_iter``, ``learning_rate_rbm``, ``lr_schedule_rbm`` and
        ``k`` keep their defaults. None: the DBN built from those parameters (with ``batch_size``).
    n_iter : int or one per layer, default=10
        Pretraining epochs per RBM.
    learning_rate_rbm : float, 'auto' or one per layer, default='auto'
        CD learning rates ('auto': 0.1 between logistic layers, 0.001 for the linear code layer and for Gaussian
        visible units, as in the paper).
    lr_schedule_rbm : {'constant', 'linear', 'cosine'}, default='constant'
        Pretraining learning-rate schedule over each RBM's ``n_iter`` epochs.
    k : int, default=1
        CD-k steps.
    optimizer : {'adam', 'sgd'}, default='adam'
    learning_rate : float, default=1e-3
        Fine-tuning learning rate.
    lr_schedule : {'constant', 'linear', 'cosine'}, default='constant'
        'linear' and 'cosine' decay the learning rate to 0 over ``max_iter`` epochs.
    max_iter : int, default=50
        Fine-tuning epochs.
    batch_size : int, default=100
    weight_decay : float, default=0.0
    device : 'cpu', 'cuda', 'cuda:N' or 'auto'
    random_state : int, RandomState or None
    verbose : bool
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.

    Attributes
    ----------
    rbms_ : list of RBM (empty with ``pretrain=False``)
    encoder_, decoder_ : torch.nn.Sequential
        The decoder outputs logits for Bernoulli data (``inverse_transform`` applies the sigmoid).
    loss_curve_ : list of float
        Mean fine-tuning loss per epoch (per row, summed over features).
    n_iter_ : int
        Fine-tuning epochs run.
    n_features_in_ : int
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like"],
        "visible": [StrOptions({"bernoulli", "gaussian", "auto"})],
        "pretrain": ["boolean"],
        "pretraining": [None, HasMethods(["fit", "transform"])],
        "n_iter": [Interval(Integral, 0, None, closed="left"), "array-like"],
        "learning_rate_rbm": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), "array-like"],
        "lr_schedule_rbm": [StrOptions(set(SCHEDULES))],
        "k": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden_layer_sizes=(1000, 500, 250, 30), *, visible="auto", pretrain=True, pretraining=None,
                 n_iter=10,
                 learning_rate_rbm="auto", lr_schedule_rbm="constant", k=1, optimizer="adam", learning_rate=1e-3,
                 lr_schedule="constant", max_iter=50, batch_size=100, weight_decay=0.0, device="cpu", random_state=None,
                 verbose=False,
                 callbacks=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.pretrain = pretrain
        self.pretraining = pretraining
        self.n_iter = n_iter
        self.learning_rate_rbm = learning_rate_rbm
        self.lr_schedule_rbm = lr_schedule_rbm
        self.k = k
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _sizes(self):
        nested = self.pretraining
        return layer_sizes(self.hidden_layer_sizes if nested is None else nested.hidden_layer_sizes)

    # The parameters that ``pretraining=DBN(...)`` takes over: they must keep their defaults beside it.
    _NESTED = {"n_iter": "n_iter", "learning_rate_rbm": "learning_rate", "lr_schedule_rbm": "lr_schedule", "k": "k"}

    def _dbn(self, seed):
        """The unfitted DBN that pretrains the network: the nested ``pretraining`` (checked and cloned) or one
        built from this estimator's parameters, either with a linear code layer on top."""
        if self.pretraining is None:
            dbn = DBN(hidden_layer_sizes=self.hidden_layer_sizes, visible=self.visible_,
                      learning_rate=self.learning_rate_rbm, lr_schedule=self.lr_schedule_rbm, n_iter=self.n_iter,
                      k=self.k, batch_size=self.batch_size, device=self.device, random_state=seed,
                      verbose=self.verbose)
        else:
            dbn = nested_dbn(self, seed, self._NESTED, device=self.device, verbose=self.verbose)
            if dbn.hidden != "bernoulli":
                raise ValueError(f"DeepAutoencoder unrolls logistic hidden layers, but the nested DBN has "
                                 f"hidden={dbn.hidden!r}; use DBN(hidden='bernoulli', ...)")
        return _CodeDBN(**dbn.get_params(deep=False))

    def _pretrained_layers(self, dbn, X):
        """Greedy pretraining; returns [(W (out, in), hidden bias, visible bias)] bottom to top."""
        self.rbms_ = dbn.fit(X).rbms_
        return [(m.weight.detach().clone(), m.hidden_bias.detach().clone(), m.visible_bias.detach().clone())
                for m in (rbm.module_ for rbm in self.rbms_)]

    def _random_layers(self, n_features, seed, device):
        generator, layers = make_generator(seed, "cpu"), []
        for n_in, n_out in zip([n_features, *self._sizes()[:-1]], self._sizes()):
            weight = torch.nn.init.xavier_uniform_(torch.empty(n_out, n_in), generator=generator).to(device)
            layers.append((weight, torch.zeros(n_out, device=device), torch.zeros(n_in, device=device)))
        self.rbms_ = []
        return layers

    @staticmethod
    def _unroll(layers):
        encoder, decoder = [], []
        for index, (weight, hidden_bias, _) in enumerate(layers):
            encoder.append(linear_from(weight, hidden_bias))
            if index < len(layers) - 1:
                encoder.append(torch.nn.Sigmoid())
        for index, (weight, _, visible_bias) in reversed(list(enumerate(layers))):
            decoder.append(linear_from(weight.t().contiguous(), visible_bias))
            if index > 0:
                decoder.append(torch.nn.Sigmoid())
        return torch.nn.Sequential(*encoder), torch.nn.Sequential(*decoder)

    def _loss(self, logits, target):
        if self.visible_ == "bernoulli":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        else:
            loss = (logits - target) ** 2
        return loss.sum(1).mean()

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain (unless ``pretrain=False``), unroll, and fine-tune on the reconstruction error of X."""
        X = self._check_fit_X(X)
        device = resolve_device(self.device)
        self._device = device
        pretrain_seed, init_seed, shuffle_seed = seeds_from(self.random_state, 3)
        self._set_scaler(X)
        # built beside pretrain=False too, so that a nested DBN there is refused (nested_dbn)
        dbn = self._dbn(pretrain_seed) if self.pretrain or self.pretraining is not None else None
        layers = (self._pretrained_layers(dbn, X) if self.pretrain
                  else self._random_layers(X.shape[1], init_seed, device))
        self.encoder_, self.decoder_ = self._unroll(layers)
        network = torch.nn.Sequential(self.encoder_, self.decoder_)
        config = FineTuneConfig(optimizer=self.optimizer, learning_rate=self.learning_rate,
                                weight_decay=self.weight_decay, max_iter=max(self.max_iter, 1),
                                batch_size=self.batch_size, schedule=self.lr_schedule)
        data = to_tensor(self._standardize(X), device)
        self.loss_curve_, self.n_iter_ = [], self.max_iter
        if self.max_iter > 0:
            progress = FineTuneProgress()  # on divergence the network keeps its last good weights, and this record
            self.loss_curve_ = progress.loss_curve
            with EpochBar(self.max_iter, "fine-tuning", self.verbose, "fine-tuning", model=network) as bar:
                fine_tune(network, self._loss, data, data, config, make_generator(shuffle_seed, "cpu"), callback=bar,
                          progress=progress)
        network.eval()
        return self

    @torch.no_grad()
    def _rows(self, fn, X):
        return np.concatenate([to_numpy(fn(to_tensor(X[i:i + INFERENCE_CHUNK], self._device)))
                               for i in range(0, X.shape[0], INFERENCE_CHUNK)])

    def transform(self, X):
        """The codes, shape (n_samples, hidden_layer_sizes[-1])."""
        check_is_fitted(self, "encoder_")
        X = check_X(self, X, reset=False, units=self.visible_)
        return self._rows(self.encoder_, self._standardize(X))

    def inverse_transform(self, Z):
        """Reconstructions in the data's units from codes Z."""
        check_is_fitted(self, "encoder_")
        Z = check_array(Z, dtype=(np.float32, np.float64), input_name="Z")
        if Z.shape[1] != self._sizes()[-1]:
            raise ValueError(f"Z has {Z.shape[1]} columns but the code layer has {self._sizes()[-1]} units")
        out = self._rows(self.decoder_, Z.astype(np.float32))
        if self.visible_ == "bernoulli":
            return expit(out)
        return out * self.data_scale_ + self.data_mean_

    def reconstruct(self, X):
        """inverse_transform(transform(X))."""
        return self.inverse_transform(self.transform(X))

    def score(self, X, y=None):
        """Minus the mean squared reconstruction error per row (summed over features), in the data's units."""
        X = check_X(self, X, reset=False, units=self.visible_)
        return -float(((self.reconstruct(X) - X) ** 2).sum(1).mean())

    # persistence --------------------------------------------------------------------------------
    def _get_state(self):
        check_is_fitted(self, "encoder_")
        tensors = {f"encoder.{k}": v for k, v in self.encoder_.state_dict().items()}
        tensors.update({f"decoder.{k}": v for k, v in self.decoder_.state_dict().items()})
        layers = []
        for index, rbm in enumerate(self.rbms_):
            t, state = rbm._get_state(prefix=f"rbm{index}.")
            tensors.update(t)
            layers.append(state)
        state = {"params": json_params(self), "n_features_in": int(self.n_features_in_), "rbms": layers,
                 "loss_curve": self.loss_curve_, "n_iter": self.n_iter_, **self._scaler_state(),
                 **self._visible_state()}
        return tensors, state

    @classmethod
    def _from_state(cls, state, tensors, device=None):
        ae = restore_params(cls, state["params"], device, nested=[DBN])
        ae._set_visible_state(state)
        ae._device = resolve_device(ae.device)
        ae.n_features_in_ = check_int(state["n_features_in"], "n_features_in")
        sizes = ae._sizes()
        shapes = list(zip([ae.n_features_in_, *sizes[:-1]], sizes))
        check_elements(sum(2 * n_in * n_out + n_in + n_out for n_in, n_out in shapes), tensors,
                       ["encoder.", "decoder."])
        layers = [(torch.zeros(n_out, n_in), torch.zeros(n_out), torch.zeros(n_in)) for n_in, n_out in shapes]
        ae.encoder_, ae.decoder_ = (m.to(ae._device) for m in cls._unroll(layers))
        for name, module in (("encoder", ae.encoder_), ("decoder", ae.decoder_)):
            module.load_state_dict({k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")})
            module.eval()
        ae.rbms_ = [RBM._from_state(layer, tensors, ae.device, prefix=f"rbm{i}.")
                    for i, layer in enumerate(state["rbms"])]
        ae.loss_curve_ = list(state["loss_curve"])
        ae.n_iter_ = check_int(state["n_iter"], "n_iter", low=0)
        ae._set_scaler_state(state)
        return ae

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.positive_only = self._positive_only()
        return tags
