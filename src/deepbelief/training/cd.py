"""Contrastive divergence (CD-k / PCD-k) for one RBM: the hyperparameters, the trainer's state, the epochs."""
from dataclasses import dataclass

import torch

from ..core.units import RankDraws
from .loop import Restartable, precision_scope, run_epochs, scheduled_rate


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
    hidden_bias_decrement: float = 0.0  # subtracted from every hidden bias after each update (Larochelle et al. 2012)


CENTERING_RATE = 0.01  # sliding factor of the centring offsets' moving averages (Melchior et al. 2016)


class CDTrainer(Restartable):
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
        self.adjust(grads, stats, v0)
        self.descend(grads, epoch, learning_rate)
        return stats.squared_error

    # what the epochs report: the summed monitor of ``step`` over the monitor's count of a batch's values
    monitor = "reconstruction_error"

    def monitor_count(self, rows):
        """The values of the batch (or data) ``rows`` that ``step``'s summed monitor covers: every element."""
        return rows.numel()

    def validation_metrics(self, validation):
        """Further monitors of the held-out rows ``validation`` after an epoch ({name: float}); none for CD."""
        return {}

    def descend(self, grads, epoch, learning_rate=None):
        """Move the parameters along ``grads`` with momentum, at the rate of ``epoch`` (or ``learning_rate``); then
        lower every hidden bias by ``hidden_bias_decrement``, the sparse classification RBM's constant push towards
        inactive hidden units (Larochelle, Mandel, Pascanu & Bengio 2012)."""
        momentum = self.momentum(epoch)
        rate = self.learning_rate(epoch) if learning_rate is None else learning_rate
        for param, velocity, grad in zip(self.params, self.velocity, grads):
            velocity.mul_(momentum).add_(grad, alpha=rate)
            param.add_(velocity)
        if self.config.hidden_bias_decrement:
            self.rbm.hidden_bias.sub_(self.config.hidden_bias_decrement)

    def adjust(self, grads, stats, v0):
        """Turn the batch's statistics ``grads`` (in place) into the step's direction: the ranks' average under
        data parallelism, weight decay, the centred gradient, the sparsity penalty."""
        c, rbm = self.config, self.rbm
        # the visible units' mean (a conditional RBM's rows carry their history after the frame)
        v_mean = v0[:, :rbm.weight.shape[1]].mean(0) if c.sparsity_cost or c.centering else None
        if self.group is not None:
            # The batch means of all ranks averaged: what one process with the ranks' rows stacked computes.
            self.group.mean_(grads + ([stats.hidden_mean, v_mean] if v_mean is not None else []))
        if c.weight_decay:  # on the weights: W and any further weight matrices, not the biases
            for i in (0, *range(3, len(grads))):
                grads[i].add_(self.params[i], alpha=-c.weight_decay)
        if c.centering:
            self.center(grads, v_mean, stats.hidden_mean)
        if c.sparsity_cost:
            push = self.sparsity_push(stats.hidden_mean)
            grads[2].add_(push)
            grads[0].addr_(push, v_mean)

    def sparsity_push(self, q):
        """The sparsity penalty's push on the hidden biases, cost (target - running mean activation), after
        folding the batch's mean activations ``q`` into the running mean."""
        c = self.config
        if self.hidden_activity is None:
            self.hidden_activity = q.clone()
        else:
            self.hidden_activity.mul_(c.sparsity_decay).add_(q, alpha=1.0 - c.sparsity_decay)
        # d(cross-entropy penalty)/d(total input) = q - p, applied to the biases and, through v, the weights.
        return (c.sparsity_target - self.hidden_activity) * c.sparsity_cost

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
        return self.mean_over_rows(total.item(), self.monitor_count(data))

    def run_batches(self, batches, epoch):
        """One pass over an iterable of mini-batches (streamed data); returns the mean squared reconstruction
        error per element."""
        total, count = None, 0
        for batch in batches:
            error = self.step(batch, epoch)
            total = error if total is None else total + error
            count += self.monitor_count(batch)
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
            velocity.copy_(checked_state(state, f"velocity.{i}", velocity.shape))
        device = self.rbm.weight.device
        n_hidden, n_visible = self.rbm.hidden_bias.shape[0], self.rbm.n_visible
        chain = state.get("chain")
        if chain is not None and (chain.ndim != 2 or chain.shape[1] != n_visible):
            raise ValueError(f"the saved chains have shape {tuple(chain.shape)}, expected (n_chains, {n_visible})")
        self.set_global_chain(chain)
        self.hidden_activity = (checked_state(state, "hidden_activity", (n_hidden,)).to(device)
                                if "hidden_activity" in state else None)
        self.offsets = ([checked_state(state, f"offsets.{side}", (n,)).to(device)
                         for side, n in (("visible", n_visible), ("hidden", n_hidden))]
                        if "offsets.visible" in state else None)
        self.generator.set_state(state["generator.sample"])

    def forget_chains(self):
        self.chain = None


def checked_state(state, name, shape):
    """``state[name]``, which must be a tensor of ``shape``."""
    tensor = state[name]
    if tuple(tensor.shape) != tuple(shape):
        raise ValueError(f"the saved {name!r} has shape {tuple(tensor.shape)}, expected {tuple(shape)}")
    return tensor


def validation_count(fraction, n):
    """The rows that ``validation_fraction=fraction`` of ``n`` rows holds out; ValueError when it leaves either
    part empty."""
    n_valid = int(round(fraction * n))
    if n_valid < 1 or n_valid >= n:
        raise ValueError(f"validation_fraction={fraction} of {n} rows leaves {n_valid} rows for validation and "
                         f"{n - n_valid} for training; both must be >= 1")
    return n_valid


def split_validation(data, fraction, generator):
    """(validation rows, training rows): a random ``fraction`` of the rows of ``data`` (a tensor) held out, in the
    order of one permutation drawn from ``generator``. ValueError when either part would be empty."""
    n = data.shape[0]
    n_valid = validation_count(fraction, n)
    order = torch.randperm(n, generator=generator).to(data.device)
    return data[order[:n_valid]], data[order[n_valid:]]


def train_rbm(trainer, data, n_epochs, batch_size, shuffle_generator=None, validation=None, start_epoch=0,
              callback=None, layer=0, train_sample=None):
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
    callback : callable(epoch, metrics) or None, called after every epoch; a true result ends the training
    layer : int, named in errors
    train_sample : tensor or None, the training rows the validation rows are compared with when ``data`` is a
        callable (default: the first ``len(validation)`` rows of ``data``)

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
    history = []

    def train_epoch(epoch):
        if callable(data):
            error = trainer.run_batches(data(epoch), epoch)
        else:
            order = None
            if shuffle_generator is not None:
                order = torch.randperm(data.shape[0], generator=shuffle_generator).to(data.device)
            error = trainer.run_epoch(data, batch_size, epoch, order)
        return error, {trainer.monitor: error}

    def record(epoch, metrics):
        if validation is not None:
            with torch.no_grad():
                metrics.update(trainer.validation_metrics(validation))
                fe_valid = trainer.mean_over_rows(rbm.free_energy(validation).sum().item(), validation.shape[0])
                sample = data[: validation.shape[0]] if train_sample is None else train_sample
                fe_train = trainer.mean_over_rows(rbm.free_energy(sample).sum().item(), validation.shape[0])
            metrics.update(free_energy_train=fe_train, free_energy_valid=fe_valid, free_energy_gap=fe_valid - fe_train)
        history.append(metrics)
        return callback is not None and callback(epoch, metrics)

    def failure(epoch, why):
        return (f"training diverged in layer {layer}, epoch {epoch}: the parameters or the reconstruction error "
                f"{why} (learning_rate={trainer.config.learning_rate}). The model keeps the parameters "
                "of the start of that epoch; lower the learning rate (Gaussian visible units usually need "
                "about 0.001-0.01) or the momentum")

    run_epochs(range(start_epoch, start_epoch + n_epochs), train_epoch, lambda: trainer.params, trainer.snapshot,
               trainer.restore, failure, record)
    return history
