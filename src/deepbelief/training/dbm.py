"""Joint training of a deep Boltzmann machine (Salakhutdinov & Hinton 2009): mean-field positive phase, persistent
Gibbs chains for the negative phase; the hyperparameters, the trainer's state and the epochs."""
from dataclasses import dataclass

import torch

from ..core.units import RankDraws
from .cd import CENTERING_RATE, checked_state
from .loop import Restartable, run_epochs, scheduled_rate


@dataclass
class DBMConfig:
    """Hyperparameters of the joint DBM training."""

    learning_rate: float = 0.005
    n_mean_field: int = 10  # fixed-point iterations of the positive phase
    damping: float = 0.0  # of the mean-field updates: mu <- d mu + (1 - d) update
    n_particles: int = 100  # persistent chains (fantasy particles), over all ranks
    n_gibbs: int = 5  # Gibbs sweeps of the chains per update
    momentum: float = 0.5
    final_momentum: float = 0.9
    momentum_switch: int = 5
    weight_decay: float = 0.0  # L2 penalty on the weights (not the biases)
    schedule: str = "linear"  # of the learning rate over `n_epochs` epochs (the paper decays it linearly to 0)
    n_epochs: int = 0
    centering: bool = False  # centred gradient (Melchior, Fischer & Wiskott 2016), offsets per layer


class DBMTrainer(Restartable):
    """The state of joint training of one :class:`~deepbelief.core.dbm.DBMModule`: velocities, persistent chains,
    centring offsets.

    Parameters
    ----------
    dbm : DBMModule, updated in place
    config : DBMConfig
    generator : torch.Generator on the DBM's device, for all Gibbs sampling
    group : distributed.Group or None
        Data parallelism: every update averages the ranks' statistics; each rank keeps n_particles / world chains
        and draws its share of every draw (:class:`RankDraws`), so the ranks stay identical.
    """

    def __init__(self, dbm, config, generator, group=None):
        self.dbm, self.config, self.generator, self.group = dbm, config, generator, group
        world = 1 if group is None else group.world
        if config.n_particles % world:
            raise ValueError(f"n_particles={config.n_particles} cannot be shared evenly by {world} processes; use a "
                             f"multiple of {world}")
        self.params = (*dbm.weights, *dbm.biases)
        self.velocity = [torch.zeros_like(p) for p in self.params]
        self.chains = None
        self.offsets = None

    @property
    def draws(self):
        g = self.group
        return self.generator if g is None else RankDraws(self.generator, g.rank, g.world)

    def start_chains(self):
        """This rank's share of the fantasy particles, from the biases alone (``DBMModule.start_chains``)."""
        n = self.config.n_particles // (1 if self.group is None else self.group.world)
        return self.dbm.start_chains(n, self.draws)

    def learning_rate(self, epoch):
        c = self.config
        return scheduled_rate(c.learning_rate, c.schedule, epoch, c.n_epochs)

    def statistics(self, v0):
        """(gradients in the order of ``params``, the data layers' means, the summed squared reconstruction error)
        of one batch: data statistics from mean field, model statistics from the chains after ``n_gibbs`` sweeps.
        A label DBM's rows are [v, y], y one-hot (all zeros for an unlabelled row, whose label mean field infers).

        The model statistics are Rao-Blackwellised: the odd layers enter as their probabilities given the chains'
        even layers (their exact conditional expectation), the even layers as samples. Nothing is differentiated:
        the chains are cut at their end by construction.
        """
        c, dbm = self.config, self.dbm
        labels = None
        if dbm.n_labels is not None:
            v0, labels = v0[:, :dbm.sizes[0]], v0[:, dbm.sizes[0]:]
        mu = dbm.mean_field(v0, c.n_mean_field, c.damping, labels=labels)
        if self.chains is None:
            self.chains = self.start_chains()
        self.chains, _ = dbm.gibbs(self.chains, c.n_gibbs, self.draws)
        model = list(self.chains)
        for layer in range(1, dbm.n_layers + 1, 2):
            model[layer] = dbm.units(layer).mean(dbm.pre(layer, self.chains))
        n, m = v0.shape[0], model[0].shape[0]
        grad_w = [mu[l + 1].t() @ mu[l] / n - model[l + 1].t() @ model[l] / m for l in range(dbm.n_layers)]
        means = [x.mean(0) for x in mu]
        grad_b = [mean - x.mean(0) for mean, x in zip(means, model)]
        error = ((v0 - dbm.visible.mean(dbm.pre(0, mu))) ** 2).sum()
        return grad_w + grad_b, means, error

    def center(self, grads, means):
        """The centred gradient of a DBM with offsets o_l (moving averages of the data layers' means): in the
        ordinary parameters a centred step is dW_l = gW_l - gb_l o_(l-1)' - o_l gb_(l-1)', then
        db_l = gb_l - dW_l o_(l-1) - dW_(l+1)' o_(l+1) (the two-layer case is :meth:`CDTrainer.center`)."""
        if self.offsets is None:
            self.offsets = [m.clone() for m in means]
        o, L = self.offsets, self.dbm.n_layers
        grad_w, grad_b = grads[:L], grads[L:]
        for l, w in enumerate(grad_w):  # W_(l+1) joins layers l and l+1
            w.addr_(grad_b[l + 1], o[l], alpha=-1.0).addr_(o[l + 1], grad_b[l], alpha=-1.0)
        for l, b in enumerate(grad_b):
            if l > 0:
                b.sub_(grad_w[l - 1] @ o[l - 1])
            if l < L:
                b.sub_(grad_w[l].t() @ o[l + 1])
        for offset, mean in zip(o, means):
            offset.lerp_(mean, CENTERING_RATE)

    def step(self, v0, epoch=0):
        """One update on the batch ``v0`` (n, n_visible); returns the summed squared reconstruction error."""
        c, L = self.config, self.dbm.n_layers
        grads, means, error = self.statistics(v0)
        if self.group is not None:
            self.group.mean_(grads + means)
        if c.weight_decay:
            for grad, weight in zip(grads[:L], self.params[:L]):
                grad.add_(weight, alpha=-c.weight_decay)
        if c.centering:
            self.center(grads, means)
        momentum = c.momentum if epoch < c.momentum_switch else c.final_momentum
        rate = self.learning_rate(epoch)
        for param, velocity, grad in zip(self.params, self.velocity, grads):
            velocity.mul_(momentum).add_(grad, alpha=rate)
            param.add_(velocity)
        return error

    def run_epoch(self, data, batch_size, epoch, order=None):
        """One pass over ``data`` (n, n_visible; a label DBM's with the one-hot labels after) in mini-batches (rows
        in ``order``, or as stored); returns the mean squared reconstruction error per element of v."""
        total = torch.zeros((), dtype=data.dtype, device=data.device)
        for start in range(0, data.shape[0], batch_size):
            rows = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
            total += self.step(data[rows], epoch)
        total, count = total.item(), data.shape[0] * self.dbm.sizes[0]
        if self.group is not None:
            total, count = self.group.sum([total, count])
        return total / max(count, 1)

    def state_dict(self):
        """The velocities, the sampling generator's state, the chains of all ranks (a collective under data
        parallelism) and the centring offsets, as {name: tensor}."""
        state = {f"velocity.{i}": v for i, v in enumerate(self.velocity)}
        state["generator.sample"] = self.generator.get_state()
        if self.chains is not None:
            for layer, chain in enumerate(self.chains):
                state[f"chain.{layer}"] = chain if self.group is None else self.group.stack_rows(chain)
        if self.offsets is not None:
            for layer, offset in enumerate(self.offsets):
                state[f"offset.{layer}"] = offset
        return state

    @torch.no_grad()
    def load_state_dict(self, state):
        """Continue from ``state_dict()`` (shapes checked; ValueError otherwise)."""
        for i, velocity in enumerate(self.velocity):
            velocity.copy_(checked_state(state, f"velocity.{i}", velocity.shape))
        sizes, device = self.dbm.sizes, self.dbm.biases[0].device
        world, rank = (1, 0) if self.group is None else (self.group.world, self.group.rank)
        n = self.config.n_particles
        if "chain.0" in state:
            chains = [checked_state(state, f"chain.{layer}", (n, size)).to(device) for layer, size in enumerate(sizes)]
            share = n // world
            self.chains = [c[rank * share:(rank + 1) * share].clone() for c in chains]
        else:
            self.chains = None
        self.offsets = ([checked_state(state, f"offset.{layer}", (size,)).to(device).clone()
                         for layer, size in enumerate(sizes)] if "offset.0" in state else None)
        self.generator.set_state(state["generator.sample"])

    def forget_chains(self):
        self.chains = None


def train_dbm(trainer, data, n_epochs, batch_size, shuffle_generator=None, start_epoch=0, callback=None):
    """Train ``trainer.dbm`` jointly for ``n_epochs`` epochs on ``data`` (n, n_visible) on its device; rows
    shuffled with ``shuffle_generator`` (CPU) unless it is None. ``callback(epoch, metrics)`` after every epoch
    with metrics {'reconstruction_error'}. Raises TrainingDivergedError with the DBM restored to the start of the
    failing epoch."""
    def train_epoch(epoch):
        order = None
        if shuffle_generator is not None:
            order = torch.randperm(data.shape[0], generator=shuffle_generator).to(data.device)
        error = trainer.run_epoch(data, batch_size, epoch, order)
        return error, {"reconstruction_error": error}

    def failure(epoch, why):
        return (f"joint DBM training diverged in epoch {epoch}: the parameters or the reconstruction error {why} "
                f"(joint_learning_rate={trainer.config.learning_rate}). The model keeps the parameters of the start "
                "of that epoch; lower joint_learning_rate or the momentum")

    run_epochs(range(start_epoch, start_epoch + n_epochs), train_epoch, lambda: trainer.params, trainer.snapshot,
               trainer.restore, failure, callback)
