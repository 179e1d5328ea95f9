"""The DBN's up-down fine-tuning (contrastive wake-sleep, Hinton, Osindero & Teh 2006), checkpointed."""
import logging
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .. import checkpoint
from .._runtime import make_generator, seeds_from
from .._validation import check_X
from ..callbacks import reports
from ..training import CDConfig, CDTrainer, train_up_down
from ._persist import check_int, checkpoint_params
from ._progress import EpochBar

logger = logging.getLogger("deepbelief")


class UpDownMixin:
    """``fine_tune_up_down`` for :class:`DBN` (it uses the DBN's checkpoint folder, state and label clamping)."""

    @torch.no_grad()
    @reports
    def fine_tune_up_down(self, X, y=None, n_iter=10, learning_rate=0.01, k=10, batch_size=None, random_state=None,
                          resume=False):
        """Up-down (contrastive wake-sleep) fine-tuning after greedy pretraining (Hinton, Osindero & Teh 2006).

        The layers below the top RBM get untied generative (top-down) weights; recognition weights learn from
        "sleep" samples generated top-down, generative weights from "wake" states inferred bottom-up, and the
        top RBM continues with CD-k (with its label units clamped in the positive phase when it has them).
        Afterwards ``transform`` uses the recognition weights and ``generate``, ``sample_down`` and
        ``inverse_transform`` the generative ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : labels, required with ``n_labels`` (rows labelled -1 are left out)
        n_iter : int, default=10
            Epochs.
        learning_rate : float, default=0.01
            For the directed layers and the top RBM (no momentum).
        k : int, default=10
            Gibbs steps of the top RBM's CD.
        batch_size : int or None
            None uses the DBN's ``batch_size``.
        random_state : int, RandomState or None
        resume : bool, default=False
            Continue from the checkpoint ``up_down.ckpt`` in ``checkpoint_dir`` (written, with ``checkpoint_dir``
            set, every ``checkpoint_every`` epochs: the DBN, the random generator states and the epoch), if there
            is one: the result is that of an uninterrupted call. The data, the DBN's hyperparameters, this call's
            arguments and the number of up-down epochs done before the call must be those of the interrupted one.

        Returns
        -------
        self
        """
        check_is_fitted(self, "rbms_")
        X = check_X(self, X, reset=False, units=self.visible_, training=True)
        path, key, params = self._checkpoint_path("up_down.ckpt"), None, None
        if path is not None:
            key = checkpoint.fingerprint(X, None if y is None else np.asarray(y))
            seed = random_state if random_state is None or isinstance(random_state, Integral) else "RandomState"
            call = dict(n_iter=n_iter, learning_rate=learning_rate, k=k, batch_size=batch_size, random_state=seed,
                        done_before=getattr(self, "up_down_epochs_", 0))
            params = {**checkpoint_params(self), "up_down": call}
        saved = checkpoint.read_matching(path, key, params) if resume else None
        top = self.rbms_[-1]
        labels = None
        if y is not None and len(y) != len(X):
            raise ValueError(f"y has {len(y)} labels but X has {len(X)} rows; give one label per row")
        if top.n_labels is not None:
            if y is None:
                raise ValueError("this DBN has label units: call fine_tune_up_down(X, y)")
            y = np.asarray(y)
            keep = (y != -1) if np.issubdtype(y.dtype, np.number) else np.ones(len(y), bool)
            X, y = X[keep], y[keep]
            labels = self._clamped_labels(y, len(y))
        for name, value in (("n_iter", n_iter), ("k", k)):
            if not (isinstance(value, Integral) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        if not (isinstance(learning_rate, Real) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a number > 0; got {learning_rate!r}")
        batch = self.batch_size if batch_size is None else batch_size
        shuffle_seed, sample_seed = seeds_from(random_state, 2)
        device = top.module_.weight.device
        generator, order_generator = make_generator(sample_seed, device), make_generator(shuffle_seed, "cpu")
        config = CDConfig(learning_rate=learning_rate, k=k, momentum=0.0, final_momentum=0.0)
        first = 0
        if saved is not None:
            tensors, state = saved
            with checkpoint.restoring(path):
                restored = type(self)._from_state(state["dbn"], tensors, self.device, prefix="dbn.")
                first = check_int(state["epoch"], "epoch", low=0)
                generator.set_state(tensors["generator.sample"])
                order_generator.set_state(tensors["generator.shuffle"])
            self.rbms_, self.module_, self.up_down_epochs_ = restored.rbms_, restored.module_, restored.up_down_epochs_
            top = self.rbms_[-1]
            logger.info("resuming up-down fine-tuning from %s after epoch %d", path, first)
        else:
            self.module_.untie()
            self.up_down_epochs_ = getattr(self, "up_down_epochs_", 0)
        trainer = CDTrainer(top.module_, config, generator)
        data = self.rbms_[0]._encode(X)

        def after(epoch, metrics):
            self.up_down_epochs_ += 1
            if path is not None and ((epoch + 1) % self.checkpoint_every == 0 or epoch + 1 == n_iter):
                tensors, state = self._get_state(prefix="dbn.")
                tensors.update({"generator.sample": generator.get_state(),
                                "generator.shuffle": order_generator.get_state()})
                checkpoint.write(path, tensors, {"fingerprint": key, "params": params, "epoch": epoch + 1,
                                                 "dbn": state})
            return bar(epoch, metrics)

        with EpochBar(n_iter - first, "up-down", self.verbose, "up-down", model=self.module_, n_epochs=n_iter) as bar:
            train_up_down(self.module_, trainer, data, labels, range(first, n_iter), batch, learning_rate, generator,
                          order_generator, after)
        return self

