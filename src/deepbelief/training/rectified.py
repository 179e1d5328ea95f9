"""The rectified CD rule of the older ``dbn`` package, one layer at a time."""
import torch

from ..core.units import RankDraws, draw
from .loop import run_epochs, scheduled_rate


@torch.no_grad()
def rectified_cd(V, n_hidden, learning_rate, n_epochs, k, batch_size, generator, callback=None, layer=0,
                 group=None, schedule="constant"):
    """Train one layer with the rectified CD rule of the older ``dbn`` package; returns (W (H, V), a, b).

    Not an energy model but a rule that pretrains ReLU networks well: hidden states are drawn as
    Bernoulli(min(1, relu(pre))), reconstructions are relu(W^T h + a) without sampling, and the statistics use
    relu(pre). Initialisation as in that package: weights from a standard normal truncated to [-0.2, 0.2], biases
    0.1, all divided by sqrt(n_visible). Plain gradient steps (no momentum, no weight decay); ``V`` is a tensor of
    non-negative rows; ``callback(epoch, {'reconstruction_error': ...})`` after every epoch. With ``group`` (a
    ``distributed.Group``), ``V`` is this rank's shard (all shards of one size) and every update is averaged over
    the ranks, as in :class:`CDTrainer`. ``schedule`` (see :data:`SCHEDULES`) sets each epoch's rate from
    ``learning_rate`` over the ``n_epochs``.
    """
    draws = generator if group is None else RankDraws(generator, group.rank, group.world)
    n_visible = V.shape[1]
    W = torch.nn.init.trunc_normal_(torch.empty(n_hidden, n_visible, device=V.device), a=-0.2, b=0.2,
                                    generator=generator) / n_visible**0.5
    a = torch.full((n_visible,), 0.1 / n_visible**0.5, device=V.device)
    b = torch.full((n_hidden,), 0.1 / n_visible**0.5, device=V.device)
    def train_epoch(epoch):
        rate = scheduled_rate(learning_rate, schedule, epoch, n_epochs)
        order = torch.randperm(len(V), generator=generator, device=V.device)
        error = torch.zeros((), device=V.device)
        for start in range(0, len(V), batch_size):
            v0 = V[order[start:start + batch_size]]
            h0 = torch.relu(v0 @ W.T + b)
            vk, hk = v0, h0
            for _ in range(k):
                vk = torch.relu((draw(torch.rand, hk.shape, draws, hk) < hk).to(V.dtype) @ W + a)
                hk = torch.relu(vk @ W.T + b)
            scale = rate / len(v0)
            if group is None:
                W.addmm_(h0.T, v0, alpha=scale).addmm_(hk.T, vk, alpha=-scale)
                a.add_(scale * (v0 - vk).sum(0))
                b.add_(scale * (h0 - hk).sum(0))
            else:
                updates = [(h0.T @ v0).addmm_(hk.T, vk, alpha=-1.0), (v0 - vk).sum(0), (h0 - hk).sum(0)]
                torch._foreach_add_([W, a, b], group.mean_(updates), alpha=scale)
            error += ((v0 - vk) ** 2).sum()
        error = error.item() / len(V)
        if group is not None:
            error = group.sum([error])[0] / group.world
        return error, {"reconstruction_error": error}

    def failure(epoch, why):
        return (f"rectified pretraining diverged in layer {layer}, epoch {epoch}: the weights or the reconstruction "
                f"error {why} (learning_rate={learning_rate}); lower the learning rate")

    run_epochs(range(n_epochs), train_epoch, lambda: (W,), lambda: None, lambda saved: None, failure,
               None if callback is None else lambda epoch, metrics: callback(epoch, metrics))
    return W, a, b
