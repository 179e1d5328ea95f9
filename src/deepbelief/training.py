"""Training loops: contrastive divergence (CD-k / PCD-k) for one RBM and greedy stacking.

Model-agnostic and quiet: no scikit-learn, no printing. Progress bars and metric reporting are
callbacks ``callback(epoch, metrics)`` supplied by the caller.
"""
import contextlib
import math
import warnings
from dataclasses import dataclass, field

import torch

from .core.units import RankDraws, draw
from .errors import TrainingDivergedError


EXPLOSION = 1e3  # growth of the monitor or loss, relative to the first epoch, that counts as divergence
PRECISIONS = ("float32", "tf32", "bfloat16")


@contextlib.contextmanager
def precision_scope(precision, device_type):
    """Matrix products in ``precision`` within the block.

    'float32': exact float32. 'tf32': CUDA tensor cores with 10-bit mantissas and float32 accumulation (Ampere and
    later; elsewhere the same as 'float32'). 'bfloat16': the products' inputs rounded to bfloat16 (8-bit
    mantissas), accumulated in float32, by autocast; the parameters, sampling, sums and updates stay float32.
    """
    if precision == "tf32" and device_type == "cuda":
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
    elif precision == "bfloat16":
        with torch.autocast(device_type, dtype=torch.bfloat16):
            yield
    else:
        yield


@dataclass
class CDConfig:
    """Hyperparameters of contrastive-divergence training (Hinton's practical guide, 2010)."""

    learning_rate: float = 0.1
    k: int = 1  # Gibbs steps per update
    persistent: bool = False  # PCD: keep the negative chains between updates
    momentum: float = 0.5  # momentum for the first `momentum_switch` epochs
    final_momentum: float = 0.9  # momentum afterwards
    momentum_switch: int = 5
    weight_decay: float = 0.0  # L2 penalty on the weights (not the biases)
    sparsity_target: float = 0.1  # desired mean activation q of each hidden unit
    sparsity_cost: float = 0.0  # 0 disables the sparsity penalty
    sparsity_decay: float = 0.9  # running average of the hidden activations: q <- decay q + (1 - decay) mean(h)
    precision: str = "float32"  # of the matrix products: 'float32', 'tf32' or 'bfloat16' (see precision_scope)
    schedule: str = "constant"  # of the learning rate over `n_epochs` epochs: see SCHEDULES and scheduled_rate
    n_epochs: int = 0  # the epochs the schedule spans (a fit's n_iter)
    centering: bool = False  # centred gradient (Melchior, Fischer & Wiskott 2016): see CDTrainer.center


SCHEDULES = ("constant", "linear", "cosine")
CENTERING_RATE = 0.01  # sliding factor of the centring offsets' moving averages (Melchior et al. 2016)


def scheduled_rate(rate, schedule, epoch, n_epochs):
    """The learning rate of ``epoch`` (0-based) of ``n_epochs``: 'constant' keeps ``rate``; 'linear' decays it to 0 in
    equal steps (Tieleman 2008), rate (1 - epoch / n_epochs); 'cosine' as rate (1 + cos(pi epoch / n_epochs)) / 2.
    Both start at ``rate`` and reach 0 only after the last epoch; an epoch past the end gets 0."""
    if schedule == "constant" or n_epochs <= 0:
        return rate
    progress = min(epoch / n_epochs, 1.0)
    if schedule == "linear":
        return rate * (1.0 - progress)
    if schedule == "cosine":
        return 0.5 * rate * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; expected one of {SCHEDULES}")


class CDTrainer:
    """The state of CD training of one :class:`RBMModule`: velocities, persistent chains, sparsity estimate.

    Parameters
    ----------
    rbm : RBMModule, updated in place.
    config : CDConfig
    generator : torch.Generator on the RBM's device, used for all Gibbs sampling.
    group : distributed.Group or None
        Data-parallel training: every update averages the ranks' statistics (one all-reduce of the parameters'
        size), and the random draws are made for all ranks' rows and split, so the parameters and the generator
        stay identical on every rank. Every rank's batches must have the same size.
    """

    def __init__(self, rbm, config, generator, group=None):
        self.rbm = rbm
        self.config = config
        self.generator = generator
        self.group = group
        self.params = tuple(rbm.cd_parameters())
        self.velocity = [torch.zeros_like(p) for p in self.params]
        self.chain = None
        self.hidden_activity = None
        self.offsets = None  # centring: moving averages of the data's visible and hidden means
        self.weight_statistics = torch.empty_like(rbm.weight)  # reused by every update

    def momentum(self, epoch):
        """The momentum in force during ``epoch`` (0-based)."""
        c = self.config
        return c.momentum if epoch < c.momentum_switch else c.final_momentum

    @property
    def draws(self):
        """The generator, or under data parallelism this rank's share of every draw."""
        g = self.group
        return self.generator if g is None else RankDraws(self.generator, g.rank, g.world)

    def _start_chains(self, n_chains):
        # Fantasy particles start from the visible biases alone (the base-rate model), not from data.
        rbm = self.rbm
        pre = rbm.visible_bias.expand(n_chains, -1)
        return rbm.visible.sample(pre, rbm.visible.mean(pre), self.draws)

    def learning_rate(self, epoch):
        """The learning rate in force during ``epoch`` (0-based)."""
        c = self.config
        return scheduled_rate(c.learning_rate, c.schedule, epoch, c.n_epochs)

    def step(self, v0, epoch=0, learning_rate=None):
        """One parameter update on the batch ``v0`` (n, n_visible) at the rate of ``epoch`` (or ``learning_rate``
        when given); returns the summed squared error."""
        c, rbm = self.config, self.rbm
        if c.persistent and self.chain is None:
            self.chain = self._start_chains(v0.shape[0])
        with precision_scope(c.precision, v0.device.type):
            stats = rbm.cd_statistics(v0, c.k, self.draws, self.chain if c.persistent else None,
                                      out=self.weight_statistics)
        self.chain_end = stats.chain  # the negative phase's visible state (used by up-down fine-tuning)
        if c.persistent:
            self.chain = stats.chain
        grads = [stats.grad_weight, stats.grad_visible_bias, stats.grad_hidden_bias, *stats.extra]
        v_mean = v0.mean(0) if c.sparsity_cost or c.centering else None
        if self.group is not None:
            # The batch means of all ranks averaged: what one process with the ranks' rows stacked computes.
            self.group.mean_(grads + ([stats.hidden_mean, v_mean] if v_mean is not None else []))
        if c.weight_decay:  # on the weights: W and any further weight matrices, not the biases
            for i in (0, *range(3, len(grads))):
                grads[i].add_(self.params[i], alpha=-c.weight_decay)
        if c.centering:
            self.center(grads, v_mean, stats.hidden_mean)
        if c.sparsity_cost:
            q = stats.hidden_mean
            if self.hidden_activity is None:
                self.hidden_activity = q.clone()
            else:
                self.hidden_activity.mul_(c.sparsity_decay).add_(q, alpha=1.0 - c.sparsity_decay)
            # d(cross-entropy penalty)/d(total input) = q - p, applied to the biases and, through v, the weights.
            push = (c.sparsity_target - self.hidden_activity) * c.sparsity_cost
            grads[2].add_(push)
            grads[0].addr_(push, v_mean)
        momentum = self.momentum(epoch)
        rate = self.learning_rate(epoch) if learning_rate is None else learning_rate
        for param, velocity, grad in zip(self.params, self.velocity, grads):
            velocity.mul_(momentum).add_(grad, alpha=rate)
            param.add_(velocity)
        return stats.squared_error

    def center(self, grads, v_mean, h_mean):
        """Turn the gradient ``grads`` (weight (H, V), visible bias, hidden bias; in place) into the centred one.

        A centred RBM (Melchior, Fischer & Wiskott 2016) has the energy -(v - mu)' b' - (h - lam)' c'
        - (v - mu)' W (h - lam) with offsets mu, lam: the same model as the ordinary RBM with b = b' - W lam and
        c = c' - W' mu, but gradient steps on (W, b', c') move differently. A step on them, written in the
        ordinary parameters, is: dW = gW - gc mu' - lam gb' (gW, gb, gc the ordinary gradients), then
        db = gb - dW' lam and dc = gc - dW mu. The offsets are moving averages (rate ``CENTERING_RATE``) of the
        data's visible means and of the hidden probabilities given the data, started at the first batch's."""
        if self.offsets is None:
            self.offsets = [v_mean.clone(), h_mean.clone()]
        mu, lam = self.offsets
        weight, visible, hidden = grads[:3]
        weight.addr_(hidden, mu, alpha=-1.0).addr_(lam, visible, alpha=-1.0)
        visible.sub_(weight.t() @ lam)
        hidden.sub_(weight @ mu)
        mu.lerp_(v_mean, CENTERING_RATE)
        lam.lerp_(h_mean, CENTERING_RATE)

    def run_epoch(self, data, batch_size, epoch, order=None):
        """One pass over ``data`` (n, n_visible) in mini-batches; returns the mean squared reconstruction error
        per element. ``order`` is a permutation of the rows (None keeps the stored order)."""
        n = data.shape[0]
        total = torch.zeros((), dtype=data.dtype, device=data.device)
        for start in range(0, n, batch_size):
            rows = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
            total += self.step(data[rows], epoch)
        # One host synchronisation per epoch, for the monitor.
        return self.mean_over_rows(total.item(), data.numel())

    def run_batches(self, batches, epoch):
        """One pass over an iterable of mini-batches (streamed data); returns the mean squared reconstruction
        error per element."""
        total, count = None, 0
        for batch in batches:
            error = self.step(batch, epoch)
            total = error if total is None else total + error
            count += batch.numel()
        return self.mean_over_rows(0.0 if total is None else total.item(), count)

    def mean_over_rows(self, total, count):
        """total / count, both summed over the ranks under data parallelism."""
        if self.group is not None:
            total, count = self.group.sum([total, count])
        return total / max(count, 1)

    def global_chain(self):
        """The persistent chains of all ranks, stacked in rank order (what a checkpoint keeps), or None."""
        if self.chain is None or self.group is None:
            return self.chain
        return self.group.stack_rows(self.chain)

    def set_global_chain(self, chain):
        """Continue from checkpointed chains: this rank's equal share of them (all of them when alone); None, or
        a number of chains the ranks cannot share evenly, restarts the chains."""
        world, rank = (1, 0) if self.group is None else (self.group.world, self.group.rank)
        if chain is None or chain.shape[0] % world:
            self.chain = None
            return
        n = chain.shape[0] // world
        self.chain = chain[rank * n:(rank + 1) * n].to(self.rbm.weight.device).clone()

    def state_dict(self):
        """Everything CD training keeps besides the RBM's parameters, as {name: tensor}: the velocities, the
        sampling generator's state, and when they exist the persistent chains of all ranks (a collective under
        data parallelism: every rank calls this), the sparsity estimate and the centring offsets."""
        state = {f"velocity.{i}": v for i, v in enumerate(self.velocity)}
        state["generator.sample"] = self.generator.get_state()
        chain = self.global_chain()
        if chain is not None:
            state["chain"] = chain
        if self.hidden_activity is not None:
            state["hidden_activity"] = self.hidden_activity
        if self.offsets is not None:
            state["offsets.visible"], state["offsets.hidden"] = self.offsets
        return state

    @torch.no_grad()
    def load_state_dict(self, state):
        """Continue from ``state_dict()``'s tensors (checked against the RBM's shapes; ValueError otherwise)."""
        for i, velocity in enumerate(self.velocity):
            velocity.copy_(_checked(state, f"velocity.{i}", velocity.shape))
        device = self.rbm.weight.device
        n_hidden, n_visible = self.rbm.weight.shape
        chain = state.get("chain")
        if chain is not None and (chain.ndim != 2 or chain.shape[1] != n_visible):
            raise ValueError(f"the saved chains have shape {tuple(chain.shape)}, expected (n_chains, {n_visible})")
        self.set_global_chain(chain)
        self.hidden_activity = (_checked(state, "hidden_activity", (n_hidden,)).to(device)
                                if "hidden_activity" in state else None)
        self.offsets = ([_checked(state, f"offsets.{side}", (n,)).to(device)
                         for side, n in (("visible", n_visible), ("hidden", n_hidden))]
                        if "offsets.visible" in state else None)
        self.generator.set_state(state["generator.sample"])

    def snapshot(self):
        return [p.detach().clone() for p in self.params]

    def restore(self, snapshot):
        for param, saved in zip(self.params, snapshot):
            param.copy_(saved)
        for velocity in self.velocity:
            velocity.zero_()
        self.chain = None


def _checked(state, name, shape):
    """``state[name]``, which must be a tensor of ``shape``."""
    tensor = state[name]
    if tuple(tensor.shape) != tuple(shape):
        raise ValueError(f"the saved {name!r} has shape {tuple(tensor.shape)}, expected {tuple(shape)}")
    return tensor


def train_rbm(trainer, data, n_epochs, batch_size, shuffle_generator=None, validation=None, start_epoch=0,
              callback=None, layer=0):
    """Train ``trainer.rbm`` for ``n_epochs`` epochs of CD on ``data``.

    Parameters
    ----------
    trainer : CDTrainer
    data : tensor of shape (n_samples, n_visible) on the RBM's device, or a callable ``data(epoch)`` returning an
        iterable of mini-batch tensors (streamed data, which the callable shuffles itself)
    n_epochs, batch_size : int
    shuffle_generator : torch.Generator (CPU) or None to keep the row order
    validation : tensor of shape (n_valid, n_visible) or None; when given, the mean free energies of it and
        of an equally large slice of the training data are recorded, and their gap (Hinton's overfitting monitor)
    start_epoch : int, the index of the first epoch (for the momentum and learning-rate schedules)
    callback : callable(epoch, metrics) or None, called after every epoch
    layer : int, named in errors

    Returns
    -------
    history : list of dict, one per epoch: 'reconstruction_error' and, with validation data,
        'free_energy_train', 'free_energy_valid', 'free_energy_gap'.

    Raises
    ------
    TrainingDivergedError when the parameters or the monitor become non-finite; the RBM is restored to the
    parameters it had at the start of the failing epoch.
    """
    rbm = trainer.rbm
    history, first_error = [], None
    for epoch in range(start_epoch, start_epoch + n_epochs):
        good = trainer.snapshot()
        if callable(data):
            error = trainer.run_batches(data(epoch), epoch)
        else:
            order = None
            if shuffle_generator is not None:
                order = torch.randperm(data.shape[0], generator=shuffle_generator).to(data.device)
            error = trainer.run_epoch(data, batch_size, epoch, order)
        first_error = error if first_error is None else first_error
        finite = math.isfinite(error) and all(torch.isfinite(p).all() for p in trainer.params)
        # An error a thousand times that of the first epoch is a run-away (Gaussian units grow before overflowing).
        if not finite or error > EXPLOSION * max(first_error, 1e-6):
            trainer.restore(good)
            what = "became non-finite" if not finite else f"exploded to {error:.3g} from {first_error:.3g}"
            raise TrainingDivergedError(
                f"training diverged in layer {layer}, epoch {epoch}: the parameters or the reconstruction error "
                f"{what} (learning_rate={trainer.config.learning_rate}). The model keeps the parameters "
                "of the start of that epoch; lower the learning rate (Gaussian visible units usually need "
                "about 0.001-0.01) or the momentum")
        metrics = {"reconstruction_error": error}
        if validation is not None:
            with torch.no_grad():
                fe_valid = trainer.mean_over_rows(rbm.free_energy(validation).sum().item(), validation.shape[0])
                fe_train = trainer.mean_over_rows(rbm.free_energy(data[: validation.shape[0]]).sum().item(),
                                                  validation.shape[0])
            metrics.update(free_energy_train=fe_train, free_energy_valid=fe_valid, free_energy_gap=fe_valid - fe_train)
        history.append(metrics)
        if callback is not None:
            callback(epoch, metrics)
    return history


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
    for epoch in range(n_epochs):
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
                a += scale * (v0 - vk).sum(0)
                b += scale * (h0 - hk).sum(0)
            else:
                updates = [(h0.T @ v0).addmm_(hk.T, vk, alpha=-1.0), (v0 - vk).sum(0), (h0 - hk).sum(0)]
                torch._foreach_add_([W, a, b], group.mean_(updates), alpha=scale)
            error += ((v0 - vk) ** 2).sum()
        error = error.item() / len(V)
        if group is not None:
            error = group.sum([error])[0] / group.world
        if not (math.isfinite(error) and torch.isfinite(W).all()):
            raise TrainingDivergedError(f"rectified pretraining diverged in layer {layer}, epoch {epoch} "
                                        f"(learning_rate={learning_rate}); lower the learning rate")
        if callback is not None:
            callback(epoch, {"reconstruction_error": error})
    return W, a, b


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


class _Adam(torch.optim.Adam):
    def set_lr(self, lr):
        for group in self.param_groups:
            group["lr"] = lr


def make_optimizer(network, config):
    """Adam or SGD over ``network``'s parameters; weight decay applies to weight matrices only. Both have
    ``zero_grad``, ``step`` and ``set_lr``."""
    weights = [p for p in network.parameters() if p.ndim > 1]
    biases = [p for p in network.parameters() if p.ndim <= 1]
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


def optimizer_state(optimizer):
    """The optimiser's state as {name: tensor}."""
    if isinstance(optimizer, MomentumSGD):
        return {f"velocity.{i}": v for i, v in enumerate(optimizer.velocity)}
    return {f"{i}.{key}": value for i, slots in optimizer.state_dict()["state"].items()
            for key, value in slots.items()}


@torch.no_grad()
def set_optimizer_state(optimizer, tensors):
    if isinstance(optimizer, MomentumSGD):
        for i, v in enumerate(optimizer.velocity):
            v.copy_(tensors[f"velocity.{i}"])
        return
    state = optimizer.state_dict()
    slots = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        slots.setdefault(int(index), {})[key] = value
    state["state"] = slots
    optimizer.load_state_dict(state)


class MovingAverage:
    """Exponential moving average of a network's parameters (Polyak averaging): after update t (0-based),
    a <- d a + (1 - d) w with d = min(decay, (1 + t) / (10 + t)), so that the average soon forgets the starting
    weights (TensorFlow's ExponentialMovingAverage with num_updates). ``average`` and ``updates`` continue a saved
    one."""

    def __init__(self, network, decay, average=None, updates=0):
        self.params, self.decay, self.updates = list(network.parameters()), decay, updates
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
    callback : callable(epoch, metrics) or None
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
        set_optimizer_state(optimizer, progress.optimizer)
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
    for epoch in range(p.epoch, 0 if p.stopped else config.max_iter):
        good = {k: v.detach().clone() for k, v in network.state_dict().items()}
        good_average = None if average is None else ([a.clone() for a in average.average], average.updates)
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
        finite = math.isfinite(p.loss_curve[-1]) and all(torch.isfinite(t).all() for t in network.parameters())
        if not finite or p.loss_curve[-1] > EXPLOSION * max(p.loss_curve[0], 1e-6):
            loss = p.loss_curve.pop()
            network.load_state_dict(good)
            if average is not None:  # the fitted network is the average, as it stood at the start of the epoch
                average.average[:], average.updates = good_average
                average.copy_to_network()
            raise TrainingDivergedError(f"fine-tuning diverged in epoch {epoch}: the training loss is {loss} "
                                        f"(learning_rate={config.learning_rate}). The network keeps the weights of "
                                        "the start of that epoch; lower the learning rate")
        metrics = {"loss": p.loss_curve[-1]}
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
        if callback is not None:
            callback(epoch, metrics)
        if on_epoch is not None:
            on_epoch(p, optimizer)
        if p.stopped:
            break
    if p.best_state is not None:
        network.load_state_dict(p.best_state)
    elif average is not None:
        average.copy_to_network()
    network.eval()
    return {"loss_curve": p.loss_curve, "validation_scores": p.scores,
            "best_validation_score": p.best_score if p.scores else None, "n_iter": len(p.loss_curve)}


def up_down_step(dbn, top_trainer, v0, labels, learning_rate, generator):
    """One update of up-down (contrastive wake-sleep) fine-tuning, Hinton, Osindero & Teh (2006), on batch ``v0``.

    Wake: a stochastic bottom-up pass through the recognition weights; each untied generative layer learns to
    predict the state below from the state above (delta rule). Top: a CD-k update of the top RBM (``top_trainer``)
    on the penultimate state, joined with the one-hot ``labels`` when the top RBM has label units. Sleep: from the
    end of the top RBM's chain, a stochastic top-down pass through the generative weights; each recognition layer
    learns to predict the state above from the state below. ``dbn`` must be untied (``DBNModule.untie``).

    Parameters
    ----------
    dbn : DBNModule with untied generative layers
    top_trainer : CDTrainer of the top RBM
    v0 : tensor (batch, n_visible); labels : one-hot tensor (batch, n_labels) or None
    learning_rate : float, for the directed layers (the top RBM uses its trainer's)
    generator : torch.Generator
    """
    lower = dbn.rbms[:-1]
    wake = [v0]
    for rbm in lower:
        wake.append(rbm.sample_h_given_v(wake[-1], generator)[1])
    top_input = wake[-1] if labels is None else torch.cat([wake[-1], labels], 1)
    top_trainer.step(top_input)
    sleep = [top_trainer.chain_end[:, : wake[-1].shape[1]]]
    for index in reversed(range(len(lower))):
        sleep.append(dbn.generative[index].sample_v_given_h(sleep[-1], generator)[1])
    sleep.reverse()  # sleep[l] is the state of layer l, like wake[l]
    n = v0.shape[0]
    for index, (rbm, gen) in enumerate(zip(lower, dbn.generative)):
        above, below = wake[index + 1], wake[index]
        error = below - gen.mean_v_given_h(above)
        gen.weight.addmm_(above.t(), error, alpha=learning_rate / n)
        gen.visible_bias.add_(error.mean(0), alpha=learning_rate)
        above, below = sleep[index + 1], sleep[index]
        error = above - rbm.prob_h_given_v(below)
        rbm.weight.addmm_(error.t(), below, alpha=learning_rate / n)
        rbm.hidden_bias.add_(error.mean(0), alpha=learning_rate)
