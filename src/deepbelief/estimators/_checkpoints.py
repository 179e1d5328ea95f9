"""Checkpoints of greedy pretraining (``pretraining.ckpt``), shared by the DBN and the DBM: the layers' states as
:func:`deepbelief.training.greedy_stack` saves and resumes them, bound to the data and the hyperparameters."""
import logging
from pathlib import Path

from .. import checkpoint, distributed
from ._persist import checkpoint_defaults, checkpoint_params

logger = logging.getLogger("deepbelief")


class StackCheckpointMixin:
    """For estimators with ``checkpoint_dir``, ``checkpoint_every`` and ``_layer_sizes()``."""

    def _checkpoint_params(self):
        return checkpoint_params(self)

    def _checkpoint_path(self, name):
        return None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / name

    def _read_checkpoint(self, path, key):
        """The saved (tensors, state) to resume from, or None when there is no checkpoint yet."""
        saved = checkpoint.read_matching(path, key, self._checkpoint_params(), checkpoint_defaults(self))
        if saved is not None:
            with checkpoint.restoring(path):
                layer = saved[1]["layer"]
                if not (isinstance(layer, int) and 0 <= layer < len(self._layer_sizes())):
                    raise ValueError(f"layer {layer!r} is not a layer of this model")
                epoch = saved[1]["layers"][layer]["n_iter"]
            logger.info("resuming pretraining from %s: layer %d, after epoch %d", path, layer + 1, epoch)
        return saved

    def _stack_resume(self, path, key):
        """What ``greedy_stack`` resumes from (``saved``): the checkpoint at ``path``, or None."""
        saved = self._read_checkpoint(path, key)
        return None if saved is None else (saved[1]["layer"], [(saved[0], state) for state in saved[1]["layers"]])

    def _stack_saver(self, path, key, epochs):
        """The greedy stack's ``save``: a checkpoint every ``checkpoint_every`` epochs and after a layer's last
        (``epochs``: each layer's epoch count); None without ``checkpoint_dir``."""
        def save(states):
            done = states[-1][1]["n_iter"]
            if done % self.checkpoint_every == 0 or done == epochs[len(states) - 1]:
                self._write_checkpoint(path, key, states)
        return None if path is None else save

    def _write_checkpoint(self, path, key, states):
        """The layers' states: the finished ones as they were before they passed their rows up, then the layer in
        training (see :func:`deepbelief.training.greedy_stack`)."""
        tensors = {}
        for t, _ in states:
            tensors.update(t)
        if distributed.is_main_process():  # every rank holds the same state; rank 0 alone writes it
            checkpoint.write(path, tensors, {"fingerprint": key, "params": self._checkpoint_params(),
                                             "layer": len(states) - 1, "layers": [state for _, state in states]})
