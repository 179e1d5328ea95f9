"""The RBM estimator's training side: an RBM as a layer of the greedy stack (:mod:`deepbelief.training.greedy`).

:class:`RBMLayer` is how every estimator that trains RBMs (RBM, DBN, the supervised models' pretraining, the deep
autoencoder) builds one, trains it on rows in memory or streamed, checkpoints it and passes rows up; no estimator
reaches into another's private methods for it.
"""
import contextlib

import numpy as np
import torch
from sklearn.utils.multiclass import check_classification_targets

from .._runtime import make_generator, resolve_device, seeds_from, to_tensor
from ..core.dbn import propagate_up
from ..core.rbm import RBMModule
from ..core.units import LabelledUnits, get_units
from .._validation import chunk_rows, issparse
from ..training import (CDTrainer, ClassificationTrainer, FastPCDTrainer, SparseRows, TemperedTrainer, TensorRows,
                        split_validation, train_rbm, validation_count)
from ._labels import one_hot
from ._persist import copy_tensor
from ._progress import EpochBar


class RBMLayer:
    """Train the RBM estimator ``rbm`` as layer ``index`` of a stack (see :func:`greedy_stack`).

    Parameters
    ----------
    rbm : RBM, unfitted (its hyperparameters are used; ``begin`` sets its fitted attributes)
    desc : str, the progress bar's label
    index : int, the layer's position (names it in errors and prefixes its checkpoint entries)
    group : distributed.Group or None (data parallelism over its ranks)
    propagate : {'mean', 'sample'}, what ``up`` passes to the layer above
    prepare : callable(rows) -> rows or None, applied to the rows before training (the label rows of a top RBM)
    restoring : callable() -> context manager or None, around every load of a saved state (checkpoint errors)
    module : callable, default RBMModule
        Builds the core module from RBMModule's arguments (a DBM's pretraining builds ScaledRBMModules)
    """

    def __init__(self, rbm, desc="RBM", index=0, group=None, propagate="mean", prepare=None, restoring=None,
                 module=RBMModule):
        self.rbm, self.desc, self.index, self.group, self.propagate = rbm, desc, index, group, propagate
        self.prepare, self.restoring, self.module = prepare, restoring or contextlib.nullcontext, module

    @classmethod
    def stack(cls, rbms, group=None, propagate="mean", restoring=None):
        """One layer per RBM, bottom to top, labelled 'layer l/L' ('RBM' for a single one)."""
        n = len(rbms)
        return [cls(rbm, f"layer {i + 1}/{n}" if n > 1 else "RBM", i, group, propagate, restoring=restoring)
                for i, rbm in enumerate(rbms)]

    @property
    def n_outputs(self):
        return self.rbm.n_components

    @property
    def n_epochs(self):
        return self.rbm.n_iter

    def set_scaler(self, X):
        """Fit the standardisation of Gaussian visible units to the data rows X (the first layer's)."""
        self.rbm._set_scaler(X)

    def encode(self, X):
        """NumPy rows -> tensor in the RBM's model units on its device (standardised for Gaussian units)."""
        return to_tensor(self.rbm._standardize(X), resolve_device(self.rbm.device, self.group))

    def rows(self, X):
        """Training rows of this (first) layer for data rows X: a tensor in model units, or for a sparse matrix
        rows densified batch by batch (:class:`deepbelief.training.SparseRows`)."""
        if issparse(X):
            return SparseRows(X, self.encode, self.group, chunk=chunk_rows(X))
        return TensorRows(self.encode(X), self.group)

    def begin(self, n_inputs):
        """Create the module (W ~ N(0, 0.01^2), zero biases), the generators and the trainer for ``n_inputs``
        data units (label units come on top of them)."""
        rbm = self.rbm
        device = resolve_device(rbm.device, self.group)
        init_seed, shuffle_seed, sample_seed, inference_seed = seeds_from(rbm.random_state, 4)
        visible, n_visible = rbm.visible_, n_inputs
        if rbm.n_labels is not None:
            visible, n_visible = LabelledUnits(rbm.visible_, n_inputs, rbm.n_labels), n_inputs + rbm.n_labels
        module = self.module(n_visible, rbm.n_components, visible=visible, hidden=rbm.hidden, device=device)
        # Drawn on the CPU so that a seed gives the same initial weights on every device.
        init = make_generator(init_seed, "cpu")
        if getattr(rbm, "objective", "generative") == "generative":
            module.weight.copy_(torch.randn(module.weight.shape, generator=init) * 0.01)
        else:
            # P(y | x) depends on the weights only through the label weights' differences, so from N(0, 0.01^2)
            # the conditional gradient starts near a saddle; Larochelle & Bengio start from U(-m^-1/2, m^-1/2),
            # m the larger layer.
            scale = max(module.weight.shape) ** -0.5
            module.weight.copy_((torch.rand(module.weight.shape, generator=init) * 2 - 1) * scale)
        rbm.module_, rbm.n_features_in_ = module, n_inputs
        rbm._stack_module = rbm._chains = None  # sample()'s chains over the old module would be stale
        rbm.n_iter_, rbm.history_ = 0, []
        rbm._shuffle_generator = make_generator(shuffle_seed, "cpu")
        rbm._inference_generator = make_generator(inference_seed, device)
        rbm._trainer = self.trainer(module, make_generator(sample_seed, device))

    def trainer(self, module, generator):
        """The trainer of the RBM's hyperparameters: CD, or for a label model with a discriminative part or
        unlabelled rows the classification RBM's (:class:`~deepbelief.training.ClassificationTrainer`)."""
        rbm = self.rbm
        objective, beta = getattr(rbm, "objective", "generative"), getattr(rbm, "unlabelled_weight", 0.0)
        sampler = getattr(rbm, "sampler", "gibbs")
        if sampler != "gibbs" and (objective != "generative" or beta):
            raise ValueError(f"sampler={sampler!r} trains generative RBMs; a classification RBM (objective="
                             f"{objective!r}, unlabelled_weight={beta}) samples with sampler='gibbs'")
        if sampler == "fast":
            return FastPCDTrainer(module, rbm._cd_config(), generator, self.group)
        if sampler == "tempered":
            return TemperedTrainer(module, rbm._cd_config(), generator, self.group, rbm.n_temperatures)
        if objective == "generative" and not beta:
            return CDTrainer(module, rbm._cd_config(), generator, self.group)
        if rbm.n_labels is None:
            what = f"objective={objective!r}" if objective != "generative" else f"unlabelled_weight={beta}"
            raise ValueError(f"{what} trains a classification RBM, which needs label units: set n_labels to the "
                             "number of classes and fit(X, y)")
        return ClassificationTrainer(module, rbm._cd_config(), generator, self.group, objective=objective,
                                     generative_weight=rbm.generative_weight, unlabelled_weight=beta,
                                     unlabelled_objective=getattr(rbm, "unlabelled_objective", "generative"))

    def set_classes(self, y, n_rows):
        """Validate labels for a label model; set ``classes_``; return (label indices, the rows to train on): the
        labelled rows, or every row (label -1 for the unlabelled) when the model trains on unlabelled rows too."""
        rbm = self.rbm
        if y is None:
            raise ValueError(f"n_labels={rbm.n_labels} needs labels: call fit(X, y)")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n_rows:
            raise ValueError(f"y must be a 1-D array with one label per row of X ({n_rows}); got shape {y.shape}")
        check_classification_targets(y)
        labelled = (y != -1) if np.issubdtype(y.dtype, np.number) else np.ones(len(y), bool)
        rbm.classes_, labels = np.unique(y[labelled], return_inverse=True)
        if len(rbm.classes_) != rbm.n_labels:
            raise ValueError(f"n_labels={rbm.n_labels} but the labelled rows of y have {len(rbm.classes_)} classes "
                             f"({rbm.classes_[:10].tolist()}); set n_labels to the number of classes")
        labelled = np.flatnonzero(labelled)
        if getattr(rbm, "unlabelled_weight", 0.0):  # every row, the unlabelled ones (-1: all-zero label units)
            every = np.full(n_rows, -1)
            every[labelled] = labels
            return every, np.arange(n_rows)
        return labels, labelled

    def one_hot(self, labels):
        return one_hot(labels, self.rbm.n_labels, self.rbm.module_.weight)

    def set_visible_bias(self, mean):
        """Bernoulli visible biases log(p / (1 - p)) of the data's mean activation p (Hinton's guide), rectified
        ones the data's mean; Gaussian units keep 0, the mean of standardised data; label biases the log class
        frequencies."""
        rbm = self.rbm
        bias, n = rbm.module_.visible_bias, rbm.n_features_in_
        initial = get_units(rbm.visible_).initial_bias(mean[:n])
        if initial is not None:
            bias[:n].copy_(initial)
        if rbm.n_labels is not None:
            bias[n:].copy_(torch.log(mean[n:].clamp_min(1e-3)))

    def fit(self, rows, restore=None, on_epoch=None):
        """Train on ``rows`` (``begin`` done): visible biases from their mean, the validation rows set aside, the
        saved state ``restore`` loaded when resuming, then the remaining epochs of CD."""
        rbm = self.rbm
        if self.prepare is not None:
            rows = self.prepare(rows)
        if restore is None:  # a restored state has its biases (and the mean pass would draw through the layers below)
            self.set_visible_bias(rows.mean())
        validation = sample = None
        if rbm.validation_fraction is not None and not rows.streamed:
            validation, data = split_validation(rows.data, rbm.validation_fraction, rbm._shuffle_generator)
            rows = TensorRows(data)
        elif rbm.validation_fraction is not None:  # sparse rows (streamed files refuse validation_fraction before)
            n_valid = validation_count(rbm.validation_fraction, len(rows))
            validation, rows = rows.split(n_valid, rbm._shuffle_generator)
            sample = rows.dense(slice(0, n_valid))
        data = rows.batches(rbm.batch_size, rbm._shuffle_generator if rbm.shuffle else None) if rows.streamed \
            else rows.data
        if restore is not None:
            self.load_state_dict(restore)
        self.train(data, rbm.n_iter - rbm.n_iter_, validation, on_epoch, sample)

    def train(self, data, n_epochs, validation=None, on_epoch=None, sample=None):
        """``n_epochs`` more epochs of CD on ``data`` (see :func:`train_layer`)."""
        train_layer(self.rbm, self.desc, self.index, data, n_epochs, validation, on_epoch, sample)

    def up(self, v):
        """E[h | v], or with ``propagate='sample'`` samples drawn with the training generator."""
        rbm = self.rbm
        return propagate_up([rbm.module_], v, [rbm._trainer.draws] if self.propagate == "sample" else None)

    def state_dict(self):
        """See :func:`layer_state`: the weights and biases and everything else CD training changes."""
        return layer_state(self.rbm, TENSORS, self.index)

    def load_state_dict(self, state):
        with self.restoring():
            load_layer_state(self.rbm, TENSORS, self.index, state)


TENSORS = ("weight", "visible_bias", "hidden_bias")


def label_rows(X, labels, labelled, layers, group, first_rows=None):
    """The ``prepare`` of the top layer of a stack with label units: the rows ``labelled`` of X passed up through
    ``layers`` below, with the one-hot ``labels`` (both as the top layer's ``set_classes`` returns them).
    ``first_rows`` (callable: data rows -> the first layer's rows) defaults to ``layers[0].rows``."""
    first_rows = first_rows or layers[0].rows

    def prepare(rows):
        if group is None:
            return rows.take(labelled).append(layers[-1].one_hot(labels))
        # this rank's share of the labelled rows, which may lie in other ranks' shards
        shard = group.shard(len(labelled))
        rows = first_rows(X[labelled[shard]])
        for below in layers[:-1]:
            rows = rows.up(below)
        return rows.append(layers[-1].one_hot(labels[shard]))

    return prepare


def train_layer(estimator, desc, index, data, n_epochs, validation=None, on_epoch=None, sample=None):
    """``n_epochs`` more epochs of CD of ``estimator`` (an RBM or conditional RBM with its trainer built) on
    ``data`` (a tensor, or a callable of streamed batches), shown as ``desc``; ``history_`` and ``n_iter_`` grow
    epoch by epoch, so a failure keeps the record of the epochs that completed; ``on_epoch()`` after each."""
    est = estimator

    def record(epoch, metrics):
        est.history_.append(metrics)
        est.n_iter_ += 1
        if on_epoch is not None:
            on_epoch()
        return bar(epoch, metrics)

    order = est._shuffle_generator if est.shuffle else None
    rows = data if isinstance(data, torch.Tensor) else None
    with EpochBar(n_epochs, desc, est.verbose, "pretraining", index, est.module_, rows, est.n_iter, est) as bar:
        train_rbm(est._trainer, data, n_epochs, est.batch_size, order, validation, start_epoch=est.n_iter_,
                  callback=record, layer=index, train_sample=sample)


def layer_state(estimator, names, index):
    """(tensors named '<index>.<name>', JSON) of everything CD training of ``estimator`` changes: its module's
    tensors ``names``, the trainer's state (velocities, persistent chains, sparsity estimate, centring offsets,
    sampling generator), the shuffling and inference generators, the epoch count and the monitors."""
    est, m = estimator, estimator.module_
    tensors = {**{name: getattr(m, name) for name in names}, "generator.shuffle": est._shuffle_generator.get_state(),
               "generator.inference": est._inference_generator.get_state(), **est._trainer.state_dict()}
    return {f"{index}.{k}": v for k, v in tensors.items()}, {"n_iter": est.n_iter_, "history": est.history_}


@torch.no_grad()
def load_layer_state(estimator, names, index, state):
    """Continue from :func:`layer_state`'s ``state`` (checked against the module's shapes)."""
    tensors, json = state
    est, prefix = estimator, f"{index}."
    for name in names:
        copy_tensor(getattr(est.module_, name), tensors, prefix + name)
    own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    est._trainer.load_state_dict(own)
    est._shuffle_generator.set_state(own["generator.shuffle"])
    est._inference_generator.set_state(own["generator.inference"])
    est.n_iter_, est.history_ = int(json["n_iter"]), list(json["history"])
