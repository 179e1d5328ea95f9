"""Greedy training of RBMs on rows streamed from a .npy file (see :mod:`deepbelief.streaming`)."""
import torch

from .. import distributed
from ..core.dbn import propagate_up as core_propagate_up
from ..data.streaming import checked_units_and_moments, rank_reader


def propagate_up(rbms, v, propagate):
    """The rows ``v`` passed up through the trained ``rbms`` (fitted RBM estimators) during greedy training:
    probabilities, or samples drawn with each RBM's training generator with ``propagate='sample'``."""
    draws = [rbm._trainer.draws for rbm in rbms] if propagate == "sample" else None
    return core_propagate_up([rbm.module_ for rbm in rbms], v, draws)


def fit_streamed(rbms, source, propagate, owner):
    """Train ``rbms`` (unfitted RBM estimators, bottom to top) greedily on the rows of ``source`` (a .npy path or
    a np.memmap of one), holding one block of rows in memory at a time.

    One pass checks the values and gathers the standardisation of Gaussian visible units; per layer, one pass
    sets the visible biases from the mean input, then every epoch visits the blocks in a random order and the rows
    of each block in a random order (a block-wise shuffle). Rows of layer l > 0 are computed on the fly through
    the trained layers below (probabilities, or samples with ``propagate='sample'``).

    Under data parallelism (torchrun) each rank reads only its own shard of the file's rows.
    """
    name = type(owner).__name__
    if any(rbm.n_labels is not None for rbm in rbms) or any(rbm.validation_fraction is not None for rbm in rbms):
        raise ValueError(f"{name}: streamed training data do not support n_labels or validation_fraction yet")
    group = distributed.current()
    reader = rank_reader(source, group)
    n, n_features = reader.shape
    first = rbms[0]
    first._visible_resolved, mean, std = checked_units_and_moments(reader, first.visible, name, group)
    first._set_scaler_from_moments(mean, std, reader.dtype)
    owner.n_features_in_ = first.n_features_in_ = n_features
    for layer, rbm in enumerate(rbms):
        if layer > 0:
            rbm.data_mean_ = rbm.data_scale_ = None
            rbm.n_features_in_ = rbms[layer - 1].n_components
        rbm._build(rbm.n_features_in_, group)

        def inputs(block, layer=layer):
            return propagate_up(rbms[:layer], first._encode(block), propagate)

        with torch.no_grad():
            total = sum(inputs(block).sum(0) for block in reader.blocks())
            if group is not None:
                group.mean_([total])  # equal shards: the mean of the ranks' sums over n rows each
            rbm._set_visible_bias_from_mean(total / n)

        def batches(epoch, rbm=rbm, inputs=inputs):
            generator, size = rbm._shuffle_generator, rbm.batch_size
            order = torch.randperm(reader.n_blocks, generator=generator).tolist() if rbm.shuffle else range(
                reader.n_blocks)
            for index in order:
                v = inputs(reader.block(index))
                rows = torch.randperm(len(v), generator=generator).to(v.device) if rbm.shuffle else None
                for start in range(0, len(v), size):
                    yield v[start:start + size] if rows is None else v[rows[start:start + size]]

        rbm._train(batches, rbm.n_iter, None, f"layer {layer + 1}/{len(rbms)}" if len(rbms) > 1 else "RBM")
