"""The shared machinery of DBNClassifier and DBNRegressor: greedy pretraining, the unrolled network, fine-tuning
with checkpoints, inference."""
import copy
import logging
import math
import os
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._runtime import make_generator, resolve_device, seeds_from, to_numpy, to_tensor
from .._validation import INFERENCE_CHUNK, check_X, chunk_rows, issparse
from ..data.streaming import BLOCK_ROWS, checked_units_and_moments, rank_reader, read_rows
from ..core.units import VISIBLE_UNITS
from ..core.nets import Dropout, MeanFieldInput, dbm_linears, feedforward, linear_from, recognition_linears
from ..training import PRECISIONS, SCHEDULES, FineTuneConfig, FineTuneProgress, fine_tune
from .. import checkpoint, distributed
from ..errors import ModelFileError, TrainingDivergedError
from ._persist import (SaveMixin, check_elements, checkpoint_defaults, checkpoint_params, check_int, json_params,
                       restore_params)
from ._progress import EpochBar
from ._scaling import AutoVisibleMixin, GaussianScalingMixin
from ._nested import nested_dbn
from ._stream import StreamedXY
from ._rectified import rectified_dbn
from .dbm import DBM
from .dbn import DBN

logger = logging.getLogger("deepbelief")


class SupervisedDBN(AutoVisibleMixin, GaussianScalingMixin, SaveMixin, BaseEstimator):
    """Shared machinery: pretraining, the unrolled network, fine-tuning, inference."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions(VISIBLE_UNITS), StrOptions({"auto"})],
        "pretrain": ["boolean", StrOptions({"rbm", "rectified"})],
        "pretraining": [None, HasMethods(["fit", "transform"])],
        "revive_dead_units": ["boolean"],
        "n_iter": [Interval(Integral, 0, None, closed="left"), "array-like"],
        "learning_rate_rbm": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), "array-like"],
        "lr_schedule_rbm": [StrOptions(set(SCHEDULES))],
        "k": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "activation": [StrOptions({"sigmoid", "relu"})],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_norm": [None, Interval(Real, 0, None, closed="neither")],
        "ema_decay": [None, Interval(Real, 0, 1, closed="neither")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "checkpoint_dir": [None, str, os.PathLike],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "precision": [StrOptions(set(PRECISIONS))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden_layer_sizes=(256, 256), *, visible="auto", pretrain=True, pretraining=None,
                 revive_dead_units=True, n_iter=10,
                 learning_rate_rbm="auto", lr_schedule_rbm="constant", k=1, persistent=False, activation="relu",
                 optimizer="adam", learning_rate=1e-3, lr_schedule="constant", momentum=0.9, weight_decay=0.0,
                 max_norm=None, ema_decay=None, dropout=0.0, input_dropout=0.0, max_iter=100, batch_size=32,
                 early_stopping=True, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, checkpoint_dir=None,
                 checkpoint_every=1, device="cpu", precision="float32", random_state=None, verbose=False,
                 callbacks=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.pretrain = pretrain
        self.pretraining = pretraining
        self.revive_dead_units = revive_dead_units
        self.n_iter = n_iter
        self.learning_rate_rbm = learning_rate_rbm
        self.lr_schedule_rbm = lr_schedule_rbm
        self.k = k
        self.persistent = persistent
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.max_norm = max_norm
        self.ema_decay = ema_decay
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # Further DBN settings for pretraining; deepbelief.compat uses it to reproduce the older package's plain CD.
    _pretrain_params = {}

    # pieces -------------------------------------------------------------------------------------
    def _dbn(self, seed):
        """The unfitted DBN that pretrains the network: a clone of ``pretraining`` (run where and as verbosely as
        this fit, seeded from ``random_state`` when that is set), or one built from this estimator's parameters."""
        if self.pretraining is not None:
            return self._nested_dbn(seed)
        # The RBMs' hidden units match the fine-tuning activation, so the pretrained features keep their meaning.
        hidden = "relu" if self.activation == "relu" else "bernoulli"
        return DBN(hidden_layer_sizes=self.hidden_layer_sizes, visible=self.visible_, hidden=hidden,
                   learning_rate=self.learning_rate_rbm, lr_schedule=self.lr_schedule_rbm,
                   n_iter=self.n_iter, k=self.k, persistent=self.persistent, batch_size=self.batch_size,
                   checkpoint_dir=self.checkpoint_dir, checkpoint_every=self.checkpoint_every, device=self.device,
                   precision=self.precision,
                   random_state=seed, verbose=self.verbose, **self._pretrain_params)

    # The parameters that ``pretraining=DBN(...)`` takes over: they must keep their defaults beside it.
    _NESTED = {"n_iter": "n_iter", "learning_rate_rbm": "learning_rate", "lr_schedule_rbm": "lr_schedule", "k": "k",
               "persistent": "persistent"}

    def _nested_dbn(self, seed):
        dbn = nested_dbn(self, seed, self._NESTED, models=(DBN, DBM), checkpoint_dir=self.checkpoint_dir,
                         checkpoint_every=self.checkpoint_every, device=self.device, verbose=self.verbose)
        hidden = "relu" if self.activation == "relu" else "bernoulli"
        if isinstance(dbn, DBN) and dbn.hidden != hidden and self._pretraining() == "rbm":
            other = "sigmoid" if dbn.hidden == "bernoulli" else "relu"
            raise ValueError(f"activation={self.activation!r} fine-tunes {hidden} hidden units but the nested DBN has "
                             f"hidden={dbn.hidden!r}; use DBN(hidden={hidden!r}, ...) so that the pretrained features "
                             f"keep their meaning, or activation={other!r} for the DBN's units")
        return dbn

    def _pretraining(self):
        """'rbm', 'rectified' or None (pretrain=False); True picks 'rectified' for ReLU networks on data >= 0."""
        if isinstance(self.pretrain, str):
            if self.pretrain == "rectified" and self.visible_ == "gaussian":
                raise ValueError("pretrain='rectified' reconstructs with rectified (>= 0) units and needs data >= 0; "
                                 "with visible='gaussian' use pretrain='rbm'")
            return self.pretrain
        if not self.pretrain:
            return None
        if self.pretraining is not None:  # the nested DBN (or DBM) is trained as given
            return "dbm" if isinstance(self.pretraining, DBM) else "rbm"
        return "rectified" if self.activation == "relu" and self.visible_ != "gaussian" else "rbm"

    def _hidden_linears(self, X_all, seed, device, resume=False):
        """Pretrained layers (greedy DBN on all rows) or, with pretrain=False, the same shapes Glorot-initialised."""
        pretraining = self._pretraining()
        streamed = isinstance(X_all, StreamedXY)
        if pretraining == "rectified" and streamed and self.pretrain is True:
            pretraining = "rbm"  # the rectified rule needs the data in memory; RBM pretraining streams
        if pretraining == "rectified":
            if streamed:
                raise ValueError("pretrain='rectified' needs the data in memory; for streamed (.npy / memmap) "
                                 "training data use pretrain='rbm' (or False)")
            self.dbn_ = rectified_dbn(X_all, self._dbn(seed), "bernoulli" if self.visible_ == "bernoulli" else "relu",
                                      resume)
            return recognition_linears(self.dbn_.module_)
        if pretraining == "dbm" and (streamed or issparse(X_all)):
            raise ValueError("pretraining=DBM(...) needs dense training data in memory (not sparse or streamed); "
                             "use pretraining=DBN(...) for those")
        if pretraining in ("rbm", "dbm"):
            self.dbn_ = self._dbn(seed).fit(X_all.source if streamed else X_all, resume=resume)
            return self._pretrained_linears()
        self.dbn_ = None
        sizes = self._dbn(seed)._layer_sizes()
        generator = make_generator(seed, "cpu")
        return [self._glorot(n_in, n_out, generator, device)
                for n_in, n_out in zip([X_all.shape[1], *sizes[:-1]], sizes)]

    def _pretrained_linears(self):
        """The hidden layers unrolled from the fitted ``dbn_``: a DBN's recognition weights, or a DBM's
        (:func:`deepbelief.core.nets.dbm_linears`)."""
        if isinstance(self.dbn_, DBM):
            return dbm_linears(self.dbn_.module_)
        return recognition_linears(self.dbn_.module_)

    def _activation(self):
        """The network's hidden activation: ``activation``, but sigmoid, the DBM's units, after a DBM."""
        return "sigmoid" if isinstance(self.pretraining, DBM) else self.activation

    def _front(self):
        """The network's first module: a DBM's mean-field input augmentation, or None."""
        if isinstance(self.dbn_, DBM) and self.dbn_.module_.n_layers > 1:
            return MeanFieldInput(self.dbn_.module_, self.dbn_.n_mean_field, self.dbn_.damping)
        return None

    @staticmethod
    def _pretrained_from_state(state, tensors, device):
        """The saved ``dbn_`` (a DBN or a DBM, by ``state['dbn_class']``) or None."""
        if state["dbn"] is None:
            return None
        cls = {"DBN": DBN, "DBM": DBM}.get(state.get("dbn_class", "DBN"))
        if cls is None:
            raise ValueError(f"the saved pretrained model class {state['dbn_class']!r} is not DBN or DBM")
        return cls._from_state(state["dbn"], tensors, device, prefix="dbn.")

    @staticmethod
    def _glorot(n_in, n_out, generator, device):
        weight = torch.nn.init.xavier_uniform_(torch.empty(n_out, n_in), generator=generator)
        return linear_from(weight.to(device), torch.zeros(n_out, device=device))

    @torch.no_grad()
    def _revive_dead_units(self, linears, X_all, generator):
        """A pretrained ReLU unit that is zero on every training row gets no gradient in fine-tuning, so it would
        stay zero for good (pretraining on independent features, such as make_friedman1's, leaves whole layers
        so). Such units, layer by layer from the bottom, start from fresh Glorot-uniform weights and a zero bias,
        like the network of ``pretrain=False``; the others keep their pretrained weights. Sets
        ``revived_units_``, the number per hidden layer."""
        revived = []
        for index, linear in enumerate(linears):
            peak = None
            for rows in self._encoded_chunks(X_all):
                for below in linears[:index]:
                    rows = torch.relu(below(rows))
                top = linear(rows).amax(0)
                peak = top if peak is None else torch.maximum(peak, top)
            dead = peak <= 0
            fresh = self._glorot(linear.in_features, linear.out_features, generator, linear.weight.device)
            linear.weight[dead] = fresh.weight[dead].to(linear.weight.dtype)
            linear.bias[dead] = 0.0
            revived.append(int(dead.sum()))
        self.revived_units_ = tuple(revived)
        if any(revived) and self.verbose:
            print(f"{type(self).__name__}: {sum(revived)} pretrained ReLU units were zero on every training row "
                  f"(per layer: {revived}); they start fine-tuning from fresh random weights")

    def _encoded_chunks(self, X):
        """The rows of X (dense, sparse, or streamed training rows) in model units on the network's device, a
        bounded chunk at a time."""
        if isinstance(X, StreamedXY):
            for block in X.reader.blocks():
                yield self._encode(block)
            return
        step = chunk_rows(X, INFERENCE_CHUNK)
        for start in range(0, X.shape[0], step):
            yield self._encode(X[start:start + step])

    def _encode(self, X):
        """Rows (a bounded chunk when X is sparse) -> tensor in model units on the network's device."""
        return to_tensor(self._standardize(X.toarray() if issparse(X) else X), self._device)

    def _sparse_batches(self, X, Y, generator):
        """For a sparse X: callable(epoch) yielding the (rows, targets) mini-batches of the in-memory epoch (one
        permutation of all rows drawn with ``generator``), densified one batch at a time."""
        Y_t = torch.as_tensor(Y, device=self._device)

        def batches(epoch):
            order = torch.randperm(X.shape[0], generator=generator)
            for start in range(0, X.shape[0], self.batch_size):
                rows = order[start:start + self.batch_size]
                yield self._encode(X[rows.numpy()]), Y_t[rows.to(self._device)]
        return batches

    def _fit_network(self, X_all, X, Y, n_outputs, loss_fn, score_fn, stratify=None, resume=False):
        """Pretrain on X_all, build the network with an ``n_outputs`` head, fine-tune on (X, Y). Y's NumPy dtype
        sets the targets' tensor dtype: int64 class indices, or float32 values. With ``resume``, continue from the
        checkpoints in ``checkpoint_dir``."""
        group = distributed.current()
        device = resolve_device(self.device, group)
        self._device = device
        pretrain_seed, init_seed, shuffle_seed, split_seed = seeds_from(self.random_state, 4)
        streamed = isinstance(X_all, StreamedXY)
        if streamed:
            if self.checkpoint_dir is not None or resume:
                raise ValueError("checkpoints are not available yet for streamed (.npy / memmap) training data")
            reader = X_all.reader if group is None else rank_reader(X_all.source, group)  # its own shard
            self._visible_resolved, mean, std = checked_units_and_moments(reader, self.visible, type(self).__name__,
                                                                          group)
            X_all.reader.bounds = reader.bounds  # the rows it reads are clipped as the checked ones
        path = None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / "fine_tuning.ckpt"
        key = None if streamed or path is None else checkpoint.fingerprint(X_all, X, Y)  # a pass over all rows
        saved = self._read_fine_tuning_checkpoint(path, key) if resume else None
        if saved is None:
            linears = self._hidden_linears(X_all, pretrain_seed, device, resume)
        else:  # pretraining had finished: the checkpoint holds its DBN
            tensors, state = saved
            with checkpoint.restoring(path):
                self.dbn_ = self._pretrained_from_state(state, tensors, self.device)
            linears = (self._pretrained_linears() if self.dbn_ is not None
                       else self._hidden_linears(X_all, pretrain_seed, device))
        if streamed:
            self._set_scaler_from_moments(mean, std, X_all.reader.dtype)
        else:
            self._set_scaler(X_all)
        init_generator = make_generator(init_seed, "cpu")
        head = self._glorot(linears[-1].out_features, n_outputs, init_generator, device)
        self.revived_units_ = (0,) * len(linears)
        if self.revive_dead_units and self.dbn_ is not None and self._activation() == "relu":
            self._revive_dead_units(linears, X_all, init_generator)
        dropout_generator = make_generator(split_seed, device)
        network = feedforward(linears, self._activation(), self.dropout, self.input_dropout, head, dropout_generator,
                              front=self._front())
        if group is not None:  # each rank's share of every dropout draw, the generator in step on all ranks
            for layer in network:
                if isinstance(layer, Dropout):
                    layer.rank, layer.world = group.rank, group.world
        shuffle_generator = make_generator(shuffle_seed, "cpu")
        validation = None
        self._early = self._stops_early(len(Y))
        if self._early and streamed:  # the validation rows are read into memory, the rest streamed
            rows, valid_rows, Y, Y_valid = train_test_split(X.rows, Y, test_size=self.validation_fraction,
                                                            random_state=split_seed, stratify=stratify)
            order = np.argsort(valid_rows)
            X, X_valid, Y_valid = X.with_rows(rows), read_rows(X.reader, valid_rows[order]), Y_valid[order]
        elif self._early:
            X, X_valid, Y, Y_valid = train_test_split(X, Y, test_size=self.validation_fraction, random_state=split_seed,
                                                      stratify=stratify)
        if self._early:
            X_valid_t, Y_valid_t = self._encode(X_valid), torch.as_tensor(Y_valid, device=device)

            def validation(net):
                return score_fn(net(X_valid_t), Y_valid_t)

        config = FineTuneConfig(optimizer=self.optimizer, learning_rate=self.learning_rate, momentum=self.momentum,
                                weight_decay=self.weight_decay, max_iter=self.max_iter, batch_size=self.batch_size,
                                n_iter_no_change=self.n_iter_no_change, tol=self.tol, schedule=self.lr_schedule,
                                precision=self.precision, max_norm=self.max_norm, ema_decay=self.ema_decay)
        progress = None
        if saved is not None:
            with checkpoint.restoring(path):
                progress = self._restore_fine_tuning(saved, network, shuffle_generator, dropout_generator)

        def on_epoch(progress, optimizer):
            if path is not None and (progress.epoch % self.checkpoint_every == 0 or progress.epoch == self.max_iter
                                     or progress.stopped):
                self._write_fine_tuning_checkpoint(path, key, network, progress, optimizer, shuffle_generator,
                                                   dropout_generator)

        resumed, progress = progress is not None, progress or FineTuneProgress()
        try:
            with EpochBar(self.max_iter, "fine-tuning", self.verbose, "fine-tuning", model=network) as bar:
                if resumed and bar.bar is not None:
                    bar.bar.update(progress.epoch)
                if group is not None:  # this rank's shard of the training rows (validation rows: all, everywhere)
                    shard = group.shard(len(Y))
                    X, Y = (X.with_rows(X.rows[shard]) if streamed else X[shard]), Y[shard]
                if streamed:
                    data, targets = self._batches(X, Y, shuffle_generator), None
                elif issparse(X):
                    data, targets = self._sparse_batches(X, Y, shuffle_generator), None
                else:
                    data, targets = self._encode(X), torch.as_tensor(Y, device=device)
                result = fine_tune(network, loss_fn, data, targets, config, shuffle_generator, validation,
                                   callback=bar, progress=progress, on_epoch=on_epoch, group=group)
        except TrainingDivergedError:  # keep the weights of the last good epoch, fitted and usable
            self._set_fine_tuned(network, {"loss_curve": progress.loss_curve, "validation_scores": progress.scores,
                                           "best_validation_score": progress.best_score if progress.scores else None,
                                           "n_iter": progress.epoch})
            raise
        self._set_fine_tuned(network, result)

    def _batches(self, X, Y, generator):
        """For streamed rows X (with targets Y in the order of X.rows): a callable(epoch) yielding shuffled
        (rows, targets) mini-batches. The rows, sorted, are cut into chunks of BLOCK_ROWS; each epoch visits the
        chunks in a random order and the rows of each chunk in a random order, holding one chunk in memory. Equal
        numbers of rows give equal batches, as data-parallel ranks need."""
        order = np.argsort(X.rows, kind="stable")
        rows, Y_t = X.rows[order], torch.as_tensor(Y[order], device=self._device)
        size, n_chunks = self.batch_size, -(-len(rows) // BLOCK_ROWS)

        def batches(epoch):
            for index in torch.randperm(n_chunks, generator=generator).tolist():
                chunk = slice(index * BLOCK_ROWS, (index + 1) * BLOCK_ROWS)
                block = self._encode(read_rows(X.reader, rows[chunk]))
                local = torch.randperm(len(block), generator=generator).to(self._device)
                t = Y_t[chunk]
                for b in range(0, len(local), size):
                    yield block[local[b:b + size]], t[local[b:b + size]]
                del block  # before the next chunk is read
        return batches

    def _n_validation(self, n_rows):
        """The rows early stopping holds out of ``n_rows``, rounded up as train_test_split rounds."""
        return math.ceil(self.validation_fraction * n_rows)

    def _stops_early(self, n_rows):
        """Whether this fit holds out validation rows: ``early_stopping``, unless ``validation_fraction`` of the
        ``n_rows`` fine-tuning rows leaves fewer than 2 to validate on or none to train on (then a warning, and
        the fit trains on every row for ``max_iter`` epochs)."""
        if not self.early_stopping:
            return False
        n_valid = self._n_validation(n_rows)
        if n_valid >= 2 and n_rows - n_valid >= 1:
            return True
        warnings.warn(f"{type(self).__name__}: early stopping needs at least 2 validation rows and 1 training row, "
                      f"but validation_fraction={self.validation_fraction} of {n_rows} rows holds out {n_valid}; "
                      "training on every row without early stopping (set early_stopping=False to silence this)",
                      UserWarning)
        return False

    def _set_fine_tuned(self, network, result):
        self.network_ = network
        self.loss_curve_ = result["loss_curve"]
        self.validation_scores_ = result["validation_scores"] if self._early else None
        self.best_validation_score_ = result["best_validation_score"]
        self.n_iter_ = result["n_iter"]

    # fine-tuning checkpoints --------------------------------------------------------------------
    def _read_fine_tuning_checkpoint(self, path, key):
        saved = checkpoint.read_matching(path, key, checkpoint_params(self), checkpoint_defaults(self))
        if saved is not None:
            with checkpoint.restoring(path):
                epoch = check_int(saved[1]["progress"]["epoch"], "epoch", low=0)
            logger.info("resuming fine-tuning from %s after epoch %d", path, epoch)
        return saved

    def _write_fine_tuning_checkpoint(self, path, key, network, progress, optimizer, shuffle_generator,
                                      dropout_generator):
        progress_tensors, progress_state = progress.state_dict()
        tensors = {**{f"network.{k}": v for k, v in network.state_dict().items()},
                   **{f"optimizer.{k}": v for k, v in optimizer.state_dict().items()}, **progress_tensors,
                   "generator.shuffle": shuffle_generator.get_state(),
                   "generator.dropout": dropout_generator.get_state()}
        group = distributed.current()
        positions = []
        for i, layer in enumerate(m for m in network if isinstance(m, Dropout)):
            masks, position = layer.buffer_state()
            positions.append(position)
            if masks is not None:  # all ranks' mask buffers (a collective: every rank is here)
                tensors[f"dropout.{i}.masks"] = masks if group is None else group.stack_rows(masks)
        dbn_state = None
        if self.dbn_ is not None:
            dbn_tensors, dbn_state = self.dbn_._get_state(prefix="dbn.")
            tensors.update(dbn_tensors)
        progress_state.update(dropout_next=positions, world=1 if group is None else group.world)
        if distributed.is_main_process():  # every rank holds the same state; rank 0 alone writes it
            checkpoint.write(path, tensors, {"fingerprint": key, "params": checkpoint_params(self),
                                             "dbn": dbn_state, "dbn_class": type(self.dbn_).__name__,
                                             "progress": progress_state})

    @torch.no_grad()
    def _restore_fine_tuning(self, saved, network, shuffle_generator, dropout_generator):
        tensors, state = saved
        network.load_state_dict({k[len("network."):]: v for k, v in tensors.items() if k.startswith("network.")})
        shuffle_generator.set_state(tensors["generator.shuffle"])
        dropout_generator.set_state(tensors["generator.dropout"])
        p = state["progress"]
        group = distributed.current()
        world, rank = (1, 0) if group is None else (group.world, group.rank)
        for i, layer in enumerate(m for m in network if isinstance(m, Dropout)):
            masks = tensors.get(f"dropout.{i}.masks")
            if masks is not None and p.get("world", 1) == world:  # this rank's buffer, at the saved position
                rows = masks.shape[0] // world
                layer.load_buffer_state(masks[rank * rows:(rank + 1) * rows].to(self._device), p["dropout_next"][i])
            else:  # another number of ranks: fresh masks from the (shared) dropout generator
                layer.load_buffer_state(None, 0)
        progress = FineTuneProgress.from_state_dict(tensors, p, self._device)
        progress.optimizer = {k[len("optimizer."):]: v.to(self._device) for k, v in tensors.items()
                              if k.startswith("optimizer.")}
        return progress

    @torch.no_grad()
    def _outputs(self, X):
        """Network outputs (logits for the classifier) for validated rows X; NumPy (n, n_outputs)."""
        self.network_.eval()
        return np.concatenate([to_numpy(self.network_(rows)) for rows in self._encoded_chunks(X)])

    def _check_predict_X(self, X):
        check_is_fitted(self, "network_")
        return check_X(self, X, reset=False, units=self.visible_, sparse=True)

    def to_torch(self):
        """A plain ``torch.nn.Sequential`` with the fine-tuned weights (standard ``nn.Dropout`` layers), mapping
        inputs in model units (standardised for Gaussian visible units) to the outputs: logits for the
        classifier, standardised targets for the regressor (see ``y_mean_`` / ``y_scale_``)."""
        check_is_fitted(self, "network_")
        net = copy.deepcopy(self.network_)
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        front = net[0] if isinstance(net[0], MeanFieldInput) else None
        plain = feedforward(linears[:-1], self._activation(), self.dropout, self.input_dropout, linears[-1], front=front)
        return plain.eval()

    # persistence --------------------------------------------------------------------------------
    def _get_state(self):
        check_is_fitted(self, "network_")
        tensors = {f"network.{k}": v for k, v in self.network_.state_dict().items()}
        state = {"params": json_params(self), "n_features_in": int(self.n_features_in_),
                 "loss_curve": self.loss_curve_, "validation_scores": self.validation_scores_,
                 "best_validation_score": self.best_validation_score_, "n_iter": self.n_iter_,
                 "revived_units": list(self.revived_units_), **self._scaler_state(), **self._visible_state(),
                 "dbn": None, "dbn_class": type(self.dbn_).__name__, **self._target_state()}
        if self.dbn_ is not None:
            dbn_tensors, state["dbn"] = self.dbn_._get_state(prefix="dbn.")
            tensors.update(dbn_tensors)
        return tensors, state

    @classmethod
    def _from_state(cls, state, tensors, device=None):
        est = restore_params(cls, state["params"], device, nested=[DBN, DBM])
        est._set_visible_state(state)
        est._device = resolve_device(est.device)
        est.n_features_in_ = check_int(state["n_features_in"], "n_features_in")
        est._set_target_state(state)
        est.dbn_ = cls._pretrained_from_state(state, tensors, est.device)
        front = est._front()
        sizes = est._dbn(0)._layer_sizes()
        n_in = est.n_features_in_ + (0 if front is None else sizes[1])
        shapes = list(zip([n_in, *sizes], [*sizes, est._n_outputs()]))
        held = 0 if front is None else sum(p.numel() for p in front.parameters())
        check_elements(sum(n_in * n_out + n_out for n_in, n_out in shapes) + held, tensors, ["network."])
        linears = [linear_from(torch.zeros(n_out, n_in), torch.zeros(n_out)).to(est._device) for n_in, n_out in shapes]
        network = feedforward(linears[:-1], est._activation(), est.dropout, est.input_dropout, linears[-1],
                              make_generator(0, est._device), front=front)
        network.load_state_dict({k[len("network."):]: v for k, v in tensors.items() if k.startswith("network.")})
        est.network_ = network.eval()
        est._set_scaler_state(state)
        est.loss_curve_ = list(state["loss_curve"])
        est.validation_scores_ = state["validation_scores"]
        est.best_validation_score_ = state["best_validation_score"]
        est.n_iter_ = check_int(state["n_iter"], "n_iter", low=0)
        revived = state.get("revived_units", [])  # files written before it existed have none
        if not isinstance(revived, list):
            raise ModelFileError(f"the saved revived_units must be a list of integers; got {revived!r}")
        est.revived_units_ = tuple(check_int(n, "revived_units", low=0) for n in revived)
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self._positive_only()
        tags.input_tags.sparse = True  # densified batch by batch
        return tags
