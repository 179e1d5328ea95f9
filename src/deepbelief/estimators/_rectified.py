"""Pretraining with the rectified CD rule of the older ``dbn`` package, as a fitted DBN of ReLU units."""
from .._runtime import make_generator, resolve_device, seeds_from, to_numpy, to_tensor
from .._validation import per_layer
from .._validation import chunk_rows, issparse
from ..training import RectifiedLayer, SparseRows, TensorRows
from ._progress import EpochBar
from .dbn import DBN
from .rbm import RBM


class _RectifiedDBN(DBN):
    """A DBN whose greedy pretraining runs :class:`deepbelief.training.RectifiedLayer` instead of CD: the same
    stack, checkpoints (``checkpoint_dir``, ``fit(X, resume=True)``) and data parallelism as every DBN."""

    def _checkpoint_params(self):
        return {**super()._checkpoint_params(), "rule": "rectified"}  # a CD checkpoint is not resumed here

    def fit(self, X, y=None, resume=False):
        try:
            return super().fit(X, y, resume)
        finally:  # also when a layer diverges or the fit is interrupted
            for bar in getattr(self, "_bars", {}).values():
                bar.close()

    def _stack_layers(self, X, y, group, restoring):
        sizes = self._layer_sizes()
        rates = per_layer(self.learning_rate, len(sizes), "learning_rate")
        epochs = per_layer(self.n_iter, len(sizes), "n_iter")
        device = resolve_device(self.device, group)
        self._bars = {}

        def progress(layer):
            def show(epoch, metrics):
                if layer not in self._bars:  # the layer's bar opens with its first epoch, as the one below closes
                    for bar in self._bars.values():
                        bar.close()
                    self._bars[layer] = EpochBar(epochs[layer], f"layer {layer + 1}/{len(sizes)}", self.verbose,
                                                 "pretraining", layer, layers[layer].module())
                return self._bars[layer](epoch, metrics)
            return show

        layers = [RectifiedLayer(size, rates[layer], epochs[layer], self.k, self.batch_size,
                                 make_generator(seed, device), progress(layer), layer, group, self.lr_schedule,
                                 restoring)
                  for layer, (size, seed) in enumerate(zip(sizes, seeds_from(self.random_state, len(sizes))))]
        X = X if group is None else X[group.shard(X.shape[0])]
        if issparse(X):
            return layers, SparseRows(X, lambda block: to_tensor(block, device), group, chunk=chunk_rows(X))
        return layers, TensorRows(to_tensor(X, device), group)

    def _fitted_rbms(self, layers):
        rbms = []
        for layer, trained in enumerate(layers):
            rbm = RBM.from_weights(to_numpy(trained.weight).T, to_numpy(trained.visible_bias),
                                   to_numpy(trained.hidden_bias), visible=self.visible if layer == 0 else "relu",
                                   hidden="relu", device=self.device)
            rbm.history_, rbm.n_iter_ = trained.history, trained.epoch
            rbms.append(rbm)
        return rbms


def rectified_dbn(X, dbn, visible="bernoulli", resume=False):
    """Greedy pretraining of ``dbn``'s layers (sizes, learning rates, epochs, k, batch size, seed, device,
    verbose, checkpoints; 'auto' learning rates from :func:`deepbelief.training.rectified_rate`) with
    :class:`deepbelief.training.RectifiedLayer`, returned as a fitted DBN with ReLU hidden units: its ``transform``
    gives relu(W x + b) layer by layer. ``visible`` ('bernoulli' or 'relu') is the first layer's unit type; under
    data parallelism each rank trains on its shard of the rows."""
    params = {k: v for k, v in dbn.get_params().items() if k not in ("visible", "hidden", "n_labels")}
    rectified = _RectifiedDBN(visible=visible, hidden="relu", **params).fit(X, resume=resume)
    return DBN.from_rbms(rectified.rbms_, **{k: v for k, v in params.items() if k != "hidden_layer_sizes"})
