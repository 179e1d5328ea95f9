"""Supervised fine-tuning with backpropagation: optimisers, Polyak averaging, early stopping, the epoch loop."""
import contextlib
import warnings
from dataclasses import dataclass, field

import torch

from .loop import precision_scope, run_epochs, scheduled_rate


@dataclass
class FineTuneConfig:
    """Hyperparameters of supervised fine-tuning with backpropagation."""

    optimizer: str = "adam"  # 'adam' or 'sgd' (with `momentum`)
    learning_rate: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0  # L2 penalty on the weights (not the biases)
    max_iter: int = 100  # epochs
    batch_size: int = 32
    n_iter_no_change: int = 10  # early stopping patience, in epochs
    tol: float = 1e-4  # smallest improvement of the validation score that counts
    schedule: str = "constant"  # one of SCHEDULES, over max_iter epochs
    precision: str = "float32"  # of the forward pass's products: 'float32', 'tf32' or 'bfloat16' (autocast)
    max_norm: float = None  # bound on the L2 norm of each hidden unit's incoming weights, kept after every update
    ema_decay: float = None  # exponential moving average of the parameters after every update (None: none)


class MomentumSGD:
    """SGD with momentum and L2 weight decay on ``weights``: v <- m v + (g + decay w); w <- w - lr v.

    The arithmetic of ``torch.optim.SGD(momentum=m, weight_decay=decay)`` (no dampening, no Nesterov) in three
    multi-tensor kernels per step, without that class's per-step bookkeeping, which dominates for small networks.
    """

    def __init__(self, weights, biases, lr, momentum, weight_decay):
        self.weights, self.params = list(weights), list(weights) + list(biases)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        if self.weight_decay:
            torch._foreach_add_([w.grad for w in self.weights], self.weights, alpha=self.weight_decay)
        torch._foreach_mul_(self.velocity, self.momentum)
        torch._foreach_add_(self.velocity, [p.grad for p in self.params])
        torch._foreach_add_(self.params, self.velocity, alpha=-self.lr)

    def set_lr(self, lr):
        self.lr = lr

    def state_dict(self):
        """{'velocity.<i>': tensor} in parameter order."""
        return {f"velocity.{i}": v for i, v in enumerate(self.velocity)}

    @torch.no_grad()
    def load_state_dict(self, tensors):
        for i, v in enumerate(self.velocity):
            v.copy_(tensors[f"velocity.{i}"])


class _Adam(torch.optim.Adam):
    """Adam with ``set_lr`` and a flat ``state_dict``: {'<parameter index>.<slot>': tensor} (step, exp_avg,
    exp_avg_sq), the form a checkpoint stores; ``load_state_dict`` takes it back."""

    def set_lr(self, lr):
        for group in self.param_groups:
            group["lr"] = lr

    def state_dict(self):
        return {f"{i}.{key}": value for i, slots in super().state_dict()["state"].items()
                for key, value in slots.items()}

    def load_state_dict(self, tensors):
        state = super().state_dict()
        slots = {}
        for name, value in tensors.items():
            index, key = name.split(".", 1)
            slots.setdefault(int(index), {})[key] = value
        state["state"] = slots
        super().load_state_dict(state)


def make_optimizer(network, config):
    """Adam or SGD over ``network``'s trainable parameters (a DBM's mean-field input stays fixed); weight decay
    applies to weight matrices only. Both have ``zero_grad``, ``step`` and ``set_lr``."""
    weights = [p for p in network.parameters() if p.requires_grad and p.ndim > 1]
    biases = [p for p in network.parameters() if p.requires_grad and p.ndim <= 1]
    if config.optimizer == "sgd":
        return MomentumSGD(weights, biases, config.learning_rate, config.momentum, config.weight_decay)
    groups = [{"params": weights, "weight_decay": config.weight_decay}, {"params": biases, "weight_decay": 0.0}]
    fused = all(p.device.type in ("cpu", "cuda") for p in network.parameters())
    return _Adam(groups, lr=config.learning_rate, fused=fused or None)


def learning_rate_at(config, epoch):
    """The learning rate of fine-tuning ``epoch`` (0-based) under ``config.schedule`` over ``max_iter`` epochs."""
    return scheduled_rate(config.learning_rate, config.schedule, epoch, config.max_iter)


@dataclass
class FineTuneProgress:
    """Where a fine-tuning run stands after ``epoch`` epochs (what a checkpoint must keep besides the parameters,
    the optimiser and the random generators)."""

    epoch: int = 0
    loss_curve: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    best_score: float = -float("inf")
    best_state: dict = None
    stale: int = 0
    stopped: bool = False
    average: list = None  # the moving average of the parameters (with ``ema_decay``), in parameter order
    average_updates: int = 0  # updates the average has seen

    def state_dict(self):
        """(tensors, JSON): the best epoch's parameters ('best.<name>'), the moving average ('average.<i>') and
        the record (epoch, loss curve, scores, patience, averaged updates)."""
        tensors = {} if self.best_state is None else {f"best.{k}": v for k, v in self.best_state.items()}
        tensors.update({f"average.{i}": a for i, a in enumerate(self.average or [])})
        return tensors, {"epoch": self.epoch, "loss_curve": self.loss_curve, "scores": self.scores,
                         "best_score": self.best_score if self.scores else None, "stale": self.stale,
                         "stopped": self.stopped, "average_updates": self.average_updates}

    @classmethod
    def from_state_dict(cls, tensors, state, device):
        """The progress a checkpoint's ``state_dict()`` holds, its tensors moved to ``device``."""
        best = {k[len("best."):]: v.to(device) for k, v in tensors.items() if k.startswith("best.")}
        n_average = sum(k.startswith("average.") for k in tensors)
        return cls(epoch=state["epoch"], loss_curve=list(state["loss_curve"]), scores=list(state["scores"]),
                   best_score=-float("inf") if state["best_score"] is None else state["best_score"],
                   best_state=best or None, stale=state["stale"], stopped=state["stopped"],
                   average=[tensors[f"average.{i}"].to(device) for i in range(n_average)] or None,
                   average_updates=state.get("average_updates", 0))


class MovingAverage:
    """Exponential moving average of a network's parameters (Polyak averaging): after update t (0-based),
    a <- d a + (1 - d) w with d = min(decay, (1 + t) / (10 + t)), so that the average soon forgets the starting
    weights (TensorFlow's ExponentialMovingAverage with num_updates). ``average`` and ``updates`` continue a saved
    one."""

    def __init__(self, network, decay, average=None, updates=0):
        self.params, self.decay, self.updates = [p for p in network.parameters() if p.requires_grad], decay, updates
        self.average = [p.detach().clone() for p in self.params] if average is None else average

    @torch.no_grad()
    def update(self):
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.average, self.params, 1.0 - decay)
        self.updates += 1

    @torch.no_grad()
    def copy_to_network(self):
        torch._foreach_copy_(self.params, self.average)

    @contextlib.contextmanager
    def swapped(self):
        """The network holds the average inside the block, its own weights again after it."""
        with torch.no_grad():
            held = [p.detach().clone() for p in self.params]
        self.copy_to_network()
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(self.params, held)


def _warn_if_max_norm_cuts(weights, max_norm):
    """Warn when the starting weights (pretrained, usually) are longer than the max-norm bound: the first update
    scales them down, losing part of what they encode."""
    with torch.no_grad():
        norms = torch.cat([torch.linalg.vector_norm(w, dim=1) for w in weights])
    longer = int((norms > max_norm).sum())
    if longer:
        warnings.warn(f"max_norm={max_norm:g} is below the length of {longer} of the {norms.numel()} hidden units' "
                      f"starting incoming weights (longest {norms.max().item():.2f}); the first update scales them "
                      "down, discarding part of what pretraining learned. A max_norm above the longest keeps them.",
                      UserWarning, stacklevel=3)


def fine_tune(network, loss_fn, X, Y, config, shuffle_generator, validation=None, callback=None, progress=None,
              on_epoch=None, group=None):
    """Train ``network`` on (X, Y) with mini-batch backpropagation, optionally early-stopped on a validation score.

    Parameters
    ----------
    network : nn.Module mapping (n, n_features) to the outputs that ``loss_fn`` takes
    loss_fn : callable(outputs, Y_batch) -> scalar mean loss
    X, Y : tensors on the network's device, the training rows and targets; or X a callable ``X(epoch)`` returning
        an iterable of (rows, targets) mini-batches (streamed data, which the callable shuffles itself), Y None
    config : FineTuneConfig
    shuffle_generator : CPU torch.Generator for the batch order
    validation : callable(network) -> float (higher is better) or None; with it, training
        stops after ``n_iter_no_change`` epochs without an improvement of ``tol`` and the best epoch's
        parameters are restored. With ``config.ema_decay``, the moving average of the parameters
        (:class:`MovingAverage`) is what is scored, kept and left in the network at the end
    callback : callable(epoch, metrics) or None; a true result stops training after this epoch (as early stopping
        does: the best validated parameters are restored, the checkpoint records the stop)
    progress : FineTuneProgress or None
        Continue a checkpointed run (with ``progress.optimizer`` holding the optimiser's saved tensors).
    on_epoch : callable(progress, optimizer) or None, called after every epoch (to write checkpoints)
    group : distributed.Group or None
        Data-parallel training under ``DistributedDataParallel``: each rank passes its own rows, in batches of
        the same sizes on every rank; the loss curve is the mean over all ranks' rows. The validation score must
        be computed on the same rows on every rank, so that all stop at the same epoch.

    Returns
    -------
    dict with 'loss_curve' (mean training loss per epoch), 'validation_scores', 'best_validation_score',
    'n_iter' (epochs run).
    """
    optimizer = make_optimizer(network, config)
    if progress is None:
        progress = FineTuneProgress()
    elif getattr(progress, "optimizer", None) is not None:
        optimizer.load_state_dict(progress.optimizer)
    p = progress
    device = next(network.parameters()).device
    model = network
    if group is not None:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)
    n = None if callable(X) else X.shape[0]
    # Max-norm (Srivastava et al. 2014): every hidden layer's weight rows (a unit's incoming weights), not the head's.
    bounded = [m.weight for m in network.modules() if isinstance(m, torch.nn.Linear)][:-1] if config.max_norm else []
    if bounded and p.epoch == 0:
        _warn_if_max_norm_cuts(bounded, config.max_norm)
    average = None
    if config.ema_decay:
        average = MovingAverage(network, config.ema_decay, p.average, p.average_updates)
        p.average = average.average
    last_loss = []  # the loss of an epoch that diverged, for the message

    def snapshot():
        good = {k: v.detach().clone() for k, v in network.state_dict().items()}
        return good, None if average is None else ([a.clone() for a in average.average], average.updates)

    def restore(saved):
        good, good_average = saved
        last_loss.append(p.loss_curve.pop())
        network.load_state_dict(good)
        if average is not None:  # the fitted network is the average, as it stood at the start of the epoch
            average.average[:], average.updates = good_average
            average.copy_to_network()

    def train_epoch(epoch):
        network.train()
        optimizer.set_lr(learning_rate_at(config, epoch))
        if callable(X):
            batches = X(epoch)
        else:
            order = torch.randperm(n, generator=shuffle_generator).to(X.device)
            # One gather per epoch; the batches are then contiguous views.
            X_epoch, Y_epoch = X[order], Y[order]
            batches = ((X_epoch[s:s + config.batch_size], Y_epoch[s:s + config.batch_size])
                       for s in range(0, n, config.batch_size))
        total, count = torch.zeros((), device=device), 0
        for x, t in batches:
            with precision_scope(config.precision, device.type):  # the forward pass; backward follows its dtypes
                loss = loss_fn(model(x), t)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for weight in bounded:
                    weight.renorm_(2, 0, config.max_norm)
            if average is not None:
                average.update()
            total += loss.detach() * x.shape[0]
            count += x.shape[0]
        total, count = total.item(), count  # one host synchronisation per epoch
        if group is not None:
            total, count = group.sum([total, count])
        p.loss_curve.append(total / max(count, 1))
        return p.loss_curve[-1], {"loss": p.loss_curve[-1]}

    def failure(epoch, why):
        return (f"fine-tuning diverged in epoch {epoch}: the training loss is {last_loss[-1]} "
                f"(learning_rate={config.learning_rate}). The network keeps the weights of the start of that epoch; "
                "lower the learning rate")

    def after(epoch, metrics):
        if validation is not None:
            network.eval()
            with torch.no_grad(), average.swapped() if average is not None else contextlib.nullcontext():
                score = validation(network)
                if score > p.best_score + config.tol:
                    p.best_score, p.stale = score, 0
                    p.best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
                else:
                    p.stale += 1
            p.scores.append(score)
            metrics["validation_score"] = score
        if average is not None:
            p.average_updates = average.updates
        p.epoch = epoch + 1
        p.stopped = validation is not None and p.stale >= config.n_iter_no_change
        if callback is not None and callback(epoch, metrics):
            p.stopped = True
        if on_epoch is not None:
            on_epoch(p, optimizer)
        return p.stopped

    run_epochs(range(p.epoch, 0 if p.stopped else config.max_iter), train_epoch, network.parameters, snapshot, restore,
               failure, after, first=p.loss_curve[0] if p.loss_curve else None)
    if p.best_state is not None:
        network.load_state_dict(p.best_state)
    elif average is not None:
        average.copy_to_network()
    network.eval()
    return {"loss_curve": p.loss_curve, "validation_scores": p.scores,
            "best_validation_score": p.best_score if p.scores else None, "n_iter": len(p.loss_curve)}


