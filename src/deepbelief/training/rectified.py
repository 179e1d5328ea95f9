"""The rectified CD rule of the older ``dbn`` package, one layer at a time, and as a layer of the greedy stack."""
import contextlib

import torch

from ..core.units import RankDraws, draw
from .loop import run_epochs, scheduled_rate


@torch.no_grad()
def rectified_init(n_visible, n_hidden, generator, device):
    """The older package's initialisation: weights from a standard normal truncated to [-0.2, 0.2], biases 0.1, all
    divided by sqrt(n_visible); returns (W (H, V), a, b)."""
    W = torch.nn.init.trunc_normal_(torch.empty(n_hidden, n_visible, device=device), a=-0.2, b=0.2,
                                    generator=generator) / n_visible**0.5
    a = torch.full((n_visible,), 0.1 / n_visible**0.5, device=device)
    b = torch.full((n_hidden,), 0.1 / n_visible**0.5, device=device)
    return W, a, b


@torch.no_grad()
def rectified_cd(V, n_hidden, learning_rate, n_epochs, k, batch_size, generator, callback=None, layer=0,
                 group=None, schedule="constant", params=None, start_epoch=0):
    """Train one layer with the rectified CD rule of the older ``dbn`` package; returns (W (H, V), a, b).

    Not an energy model but a rule that pretrains ReLU networks well: hidden states are drawn as
    Bernoulli(min(1, relu(pre))), reconstructions are relu(W^T h + a) without sampling, and the statistics use
    relu(pre). Initialisation as in that package: weights from a standard normal truncated to [-0.2, 0.2], biases
    0.1, all divided by sqrt(n_visible). Plain gradient steps (no momentum, no weight decay); ``V`` is a tensor of
    non-negative rows; ``callback(epoch, {'reconstruction_error': ...})`` (the mean squared error per visible unit)
    after every epoch. With ``group`` (a ``distributed.Group``), ``V`` is this rank's shard (all shards of one
    size) and every update is averaged over the ranks, as in :class:`CDTrainer`. ``schedule`` (see :data:`SCHEDULES`) sets each epoch's rate from
    ``learning_rate`` over the ``n_epochs``. ``params`` (W, a, b) continues training those tensors in place
    from epoch ``start_epoch`` (a resumed run) instead of initialising new ones.
    """
    draws = generator if group is None else RankDraws(generator, group.rank, group.world)
    device, dtype = V.device, V.dtype
    W, a, b = rectified_init(V.shape[1], n_hidden, generator, device) if params is None else params
    def train_epoch(epoch):
        rate = scheduled_rate(learning_rate, schedule, epoch, n_epochs)
        order = torch.randperm(len(V), generator=generator, device=device)
        error = torch.zeros((), device=device)
        for start in range(0, len(V), batch_size):
            v0 = V[order[start:start + batch_size]]
            h0 = torch.relu(v0 @ W.T + b)
            vk, hk = v0, h0
            for _ in range(k):
                vk = torch.relu((draw(torch.rand, hk.shape, draws, hk) < hk).to(dtype) @ W + a)
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
        error = error.item() / (len(V) * W.shape[1])  # per visible unit, as CD's monitor
        if group is not None:
            error = group.sum([error])[0] / group.world
        return error, {"reconstruction_error": error}

    def failure(epoch, why):
        return (f"rectified pretraining diverged in layer {layer}, epoch {epoch}: the weights or the reconstruction "
                f"error {why} (learning_rate={learning_rate}); lower the learning rate")

    run_epochs(range(start_epoch, n_epochs), train_epoch, lambda: (W,), lambda: None, lambda saved: None, failure,
               callback)
    return W, a, b


# The rectified rule's 'auto' learning rate: the older package's 0.05, lowered to this step divided by the mean
# squared norm of the layer's input rows where those are large. A fixed 0.05 diverges on wide inputs: on MNIST (mean
# squared norm 88) it leaves 82% of the first layer's units dead; on scikit-learn's digits (X / 16, 15) it is kept.
RECTIFIED_STEP, RECTIFIED_MAX_RATE = 0.8, 0.05


def rectified_rate(V, group=None):
    """The 'auto' learning rate of the rectified rule for input rows ``V`` (over all ranks of ``group``)."""
    if hasattr(V, "chunks"):  # sparse rows, a chunk at a time
        total = sum(float(v.square().sum(dtype=torch.float64)) for v in V.chunks())
    else:
        total = float(V.square().sum(dtype=torch.float64))
    rows = len(V)
    if group is not None:
        total, rows = group.sum([total, rows])
    return min(RECTIFIED_MAX_RATE, RECTIFIED_STEP * rows / max(total, 1e-300))


class RectifiedLayer:
    """One layer trained with :func:`rectified_cd`, for :func:`deepbelief.training.greedy_stack`; passes up
    relu(W v + b). ``learning_rate`` may be 'auto' (:func:`rectified_rate` of the layer's rows); ``callback(epoch,
    metrics)`` after every epoch (a true result ends the layer's training); ``restoring()`` is a context manager
    around every load of a saved state. The rule runs on rows in memory only; a checkpointed layer resumes at the
    epoch it reached."""

    def __init__(self, n_hidden, learning_rate, n_epochs, k, batch_size, generator, callback=None, index=0,
                 group=None, schedule="constant", restoring=None):
        self.n_outputs, self.learning_rate, self.n_epochs, self.k = n_hidden, learning_rate, n_epochs, k
        self.batch_size, self.generator, self.callback, self.index = batch_size, generator, callback, index
        self.group, self.schedule, self.restoring = group, schedule, restoring or contextlib.nullcontext
        self.begin(0)

    def module(self):
        """The layer's tensors as a module (``weight`` (H, V), ``visible_bias``, ``hidden_bias``), sharing their
        storage: what callbacks see."""
        view = torch.nn.Module()
        for name in ("weight", "visible_bias", "hidden_bias"):
            setattr(view, name, torch.nn.Parameter(getattr(self, name), requires_grad=False))
        return view

    def begin(self, n_inputs):
        self.weight = self.visible_bias = self.hidden_bias = None
        self.epoch, self.history = 0, []

    def fit(self, rows, restore=None, on_epoch=None):
        if rows.streamed and not hasattr(rows, "dense"):
            raise ValueError("the rectified rule needs its training rows in memory; stream with CD instead")
        V = rows if rows.streamed else rows.data  # sparse rows give dense mini-batches by index
        rate = rectified_rate(V, self.group) if self.learning_rate == "auto" else self.learning_rate
        if restore is not None:
            self.load_state_dict(restore)
        else:
            self.weight, self.visible_bias, self.hidden_bias = rectified_init(V.shape[1], self.n_outputs,
                                                                              self.generator, V.device)

        def record(epoch, metrics):
            self.epoch += 1
            self.history.append(metrics)
            if on_epoch is not None:
                on_epoch()
            return self.callback is not None and self.callback(epoch, metrics)

        rectified_cd(V, self.n_outputs, rate, self.n_epochs, self.k, self.batch_size, self.generator, record,
                     self.index, self.group, self.schedule, (self.weight, self.visible_bias, self.hidden_bias),
                     self.epoch)

    def up(self, v):
        return torch.relu(v @ self.weight.T + self.hidden_bias)

    def state_dict(self):
        tensors = {f"{self.index}.{name}": getattr(self, name) for name in ("weight", "visible_bias", "hidden_bias")}
        tensors[f"{self.index}.generator.sample"] = self.generator.get_state()
        return tensors, {"n_iter": self.epoch, "history": self.history}

    @torch.no_grad()
    def load_state_dict(self, state):
        tensors, json = state
        with self.restoring():
            device = self.generator.device
            for name in ("weight", "visible_bias", "hidden_bias"):
                setattr(self, name, tensors[f"{self.index}.{name}"].to(device, torch.float32).clone())
            if self.weight.shape[0] != self.n_outputs or self.weight.shape[1] != self.visible_bias.shape[0] or \
                    self.hidden_bias.shape != (self.n_outputs,):
                raise ValueError(f"the saved layer {self.index} has weights of shape {tuple(self.weight.shape)}, "
                                 f"expected ({self.n_outputs}, n_inputs)")
            self.generator.set_state(tensors[f"{self.index}.generator.sample"])
            self.epoch, self.history = int(json["n_iter"]), list(json["history"])
            if not 0 <= self.epoch <= self.n_epochs:
                raise ValueError(f"layer {self.index} resumes after epoch {self.epoch} of {self.n_epochs}")
