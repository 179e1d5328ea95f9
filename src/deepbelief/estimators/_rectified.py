"""Pretraining with the rectified CD rule of the older ``dbn`` package, as a fitted DBN of ReLU units."""
from .._runtime import make_generator, resolve_device, seeds_from, to_numpy, to_tensor
from .._validation import per_layer
from ..training import RectifiedLayer, TensorRows, greedy_stack
from ._progress import EpochBar
from .dbn import DBN
from .rbm import RBM


def rectified_dbn(X, dbn, visible="bernoulli", group=None):
    """Greedy pretraining of ``dbn``'s layers (sizes, learning rates, epochs, k, batch size, seed, device,
    verbose; 'auto' learning rates from :func:`deepbelief.training.rectified_rate`) with
    :class:`deepbelief.training.RectifiedLayer`, returned as a fitted DBN with ReLU hidden units: its ``transform``
    gives relu(W x + b) layer by layer. With ``group`` (a ``distributed.Group``), data-parallel over the ranks,
    each training on its shard of the rows."""
    sizes = dbn._layer_sizes()
    rates = per_layer(dbn.learning_rate, len(sizes), "learning_rate")
    epochs = per_layer(dbn.n_iter, len(sizes), "n_iter")
    device = resolve_device(dbn.device, group)
    histories, bars = [[] for _ in sizes], []

    def recorder(layer):
        def record(epoch, metrics):
            if len(bars) <= layer:  # the layer's bar opens with its first epoch, as the one below closes
                for bar in bars:
                    bar.close()
                bars.append(EpochBar(epochs[layer], f"layer {layer + 1}/{len(sizes)}", dbn.verbose))
            histories[layer].append(metrics)
            bars[layer](epoch, metrics)
        return record

    layers = [RectifiedLayer(size, rates[layer], epochs[layer], dbn.k, dbn.batch_size, make_generator(seed, device),
                             recorder(layer), layer, group, dbn.lr_schedule)
              for layer, (size, seed) in enumerate(zip(sizes, seeds_from(dbn.random_state, len(sizes))))]
    try:
        greedy_stack(layers, TensorRows(to_tensor(X if group is None else X[group.shard(len(X))], device), group))
    finally:
        for bar in bars:
            bar.close()
    rbms = []
    for layer, trained in enumerate(layers):
        rbms.append(RBM.from_weights(to_numpy(trained.weight).T, to_numpy(trained.visible_bias),
                                     to_numpy(trained.hidden_bias), visible=visible if layer == 0 else "relu",
                                     hidden="relu", device=dbn.device))
        rbms[-1].history_, rbms[-1].n_iter_ = histories[layer], epochs[layer]
    return DBN.from_rbms(rbms, **{k: v for k, v in dbn.get_params().items()
                                  if k not in ("hidden_layer_sizes", "visible", "hidden", "n_labels")})
