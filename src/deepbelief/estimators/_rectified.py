"""Pretraining with the rectified CD rule of the older ``dbn`` package, as a fitted DBN of ReLU units."""
import torch

from .._runtime import make_generator, resolve_device, seeds_from, to_numpy, to_tensor
from .._validation import per_layer
from ..training import rectified_cd
from ._progress import EpochBar
from .dbn import DBN
from .rbm import RBM


# The rectified rule's 'auto' learning rate: the older package's 0.05, lowered to this step divided by the mean
# squared norm of the layer's input rows where those are large. A fixed 0.05 diverges on wide inputs: on MNIST (mean
# squared norm 88) it leaves 82% of the first layer's units dead; on scikit-learn's digits (X / 16, 15) it is kept.
RECTIFIED_STEP, RECTIFIED_MAX_RATE = 0.8, 0.05


def rectified_rate(V, group=None):
    """The 'auto' learning rate of the rectified rule for input rows ``V`` (over all ranks of ``group``)."""
    total, rows = float(V.square().sum(dtype=torch.float64)), len(V)
    if group is not None:
        total, rows = group.sum([total, rows])
    return min(RECTIFIED_MAX_RATE, RECTIFIED_STEP * rows / max(total, 1e-300))


def rectified_dbn(X, dbn, visible="bernoulli", group=None):
    """Greedy pretraining of ``dbn``'s layers (sizes, learning rates, epochs, k, batch size, seed, device,
    verbose; 'auto' learning rates from :func:`rectified_rate`) with :func:`deepbelief.training.rectified_cd`,
    returned as a fitted DBN with ReLU hidden units: its ``transform`` gives relu(W x + b) layer by layer. With
    ``group`` (a ``distributed.Group``), data-parallel over the ranks, each training on its shard of the rows."""
    sizes = dbn._layer_sizes()
    rates = per_layer(dbn.learning_rate, len(sizes), "learning_rate")
    epochs = per_layer(dbn.n_iter, len(sizes), "n_iter")
    device = resolve_device(dbn.device, group)
    V = to_tensor(X if group is None else X[group.shard(len(X))], device)
    rbms = []
    for layer, (size, seed) in enumerate(zip(sizes, seeds_from(dbn.random_state, len(sizes)))):
        history = []
        with EpochBar(epochs[layer], f"layer {layer + 1}/{len(sizes)}", dbn.verbose) as bar:
            def record(epoch, metrics):
                history.append(metrics)
                bar(epoch, metrics)

            rate = rectified_rate(V, group) if rates[layer] == "auto" else rates[layer]
            W, a, b = rectified_cd(V, size, rate, epochs[layer], dbn.k, dbn.batch_size,
                                   make_generator(seed, device), record, layer, group, dbn.lr_schedule)
        rbms.append(RBM.from_weights(to_numpy(W).T, to_numpy(a), to_numpy(b), visible=visible if layer == 0
                                     else "relu", hidden="relu", device=dbn.device))
        rbms[-1].history_, rbms[-1].n_iter_ = history, epochs[layer]
        V = torch.relu(V @ W.T + b)
    return DBN.from_rbms(rbms, **{k: v for k, v in dbn.get_params().items()
                                  if k not in ("hidden_layer_sizes", "visible", "hidden", "n_labels")})
