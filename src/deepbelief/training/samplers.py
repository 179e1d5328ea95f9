"""Persistent samplers for the negative phase beyond plain Gibbs chains: fast-weights PCD (Tieleman & Hinton 2009)
and parallel tempering (Desjardins, Courville, Bengio, Vincent & Delalleau 2010; Cho, Raiko & Ilin 2010).

Both keep :class:`CDTrainer`'s updates (momentum, schedules, weight decay, sparsity, centring, checkpoints, data
parallelism); they change only where the negative particles come from."""
import copy
import math

import torch

from ..core.estimate import RBMAnnealing
from ..core.units import draw
from .cd import CDTrainer, checked_state
from .loop import precision_scope

SAMPLERS = ("gibbs", "fast", "tempered")
FAST_DECAY = 0.95  # the fast weights' decay per update (Tieleman & Hinton's 19/20)


class _ParticleTrainer(CDTrainer):
    """CD statistics of the data against persistent particles that a subclass advances (``advance``)."""

    def step(self, v0, epoch=0, learning_rate=None):
        c, rbm, draws = self.config, self.rbm, self.draws
        if self.chain is None:  # first, as CDTrainer does: the first update is PCD's when the sampler is at rest
            self.start(v0.shape[0])
        with precision_scope(c.precision, v0.device.type):
            ph0, h0 = rbm.sample_h_given_v(v0, draws)
            squared_error = ((v0 - rbm.mean_v_given_h(h0)) ** 2).sum()
            self.advance(c.k)
            stats = rbm.contrast(v0, ph0, self.chain, squared_error, out=self.weight_statistics)
        self.chain_end = stats.chain
        grads = [stats.grad_weight, stats.grad_visible_bias, stats.grad_hidden_bias]
        self.adjust(grads, stats, v0)
        self.descend(grads, epoch, learning_rate)
        self.after(grads, epoch, learning_rate)
        return squared_error

    def start(self, n_chains):
        self.chain = self._start_chains(n_chains)

    def after(self, grads, epoch, learning_rate):
        """Called after each update with its step direction."""


class FastPCDTrainer(_ParticleTrainer):
    """Fast-weights PCD (Tieleman & Hinton 2009): the persistent chains sample from the RBM with its parameters
    plus fast parameters, which take every update's step at the learning rate (no momentum) and decay by
    ``FAST_DECAY`` per update, so that the chains are pushed away from the modes they have just visited and mix
    faster than the slowly moving model alone would let them. The statistics use the RBM's own parameters."""

    def __init__(self, rbm, config, generator, group=None):
        super().__init__(rbm, config, generator, group)
        self.fast = [torch.zeros_like(p) for p in self.params]
        self.sampler = copy.deepcopy(rbm)  # holds the regular plus the fast parameters

    def advance(self, k):
        for total, regular, fast in zip(self.sampler.cd_parameters(), self.params, self.fast):
            torch.add(regular, fast, out=total)
        for _ in range(k):
            _, self.chain = self.sampler.gibbs_vhv(self.chain, self.draws)

    def after(self, grads, epoch, learning_rate):
        rate = self.learning_rate(epoch) if learning_rate is None else learning_rate
        for fast, grad in zip(self.fast, grads):
            fast.mul_(FAST_DECAY).add_(grad, alpha=rate)

    def state_dict(self):
        return {**super().state_dict(), **{f"fast.{i}": f for i, f in enumerate(self.fast)}}

    @torch.no_grad()
    def load_state_dict(self, state):
        super().load_state_dict(state)
        for i, fast in enumerate(self.fast):
            fast.copy_(checked_state(state, f"fast.{i}", fast.shape))


def temperature_ladder(n):
    """``n`` inverse temperatures evenly spaced from 1 (the RBM) down to 0 (the base model: visible biases 0,
    every hidden unit a fair coin), shape (n,)."""
    return torch.linspace(1.0, 0.0, n, dtype=torch.float64)


class TemperedTrainer(_ParticleTrainer):
    """Parallel tempering (replica exchange): ``n_temperatures`` sets of persistent chains, one at each inverse
    temperature beta of :func:`temperature_ladder` of the path p*_beta(v) = exp(-beta E) summed over h (and the
    labels), from the RBM (beta = 1) to a uniform base (beta = 0). Every update takes k Gibbs sweeps at each
    temperature, then proposes to swap the states of neighbouring temperatures, chain by chain, accepting with
    min(1, p*_i(x_j) p*_j(x_i) / (p*_i(x_i) p*_j(x_j))) (even pairs on even updates, odd pairs on odd ones); the
    chains at beta = 1 are the negative particles. Hot chains cross between modes and pass their states down."""

    def __init__(self, rbm, config, generator, group=None, n_temperatures=10):
        if n_temperatures < 2:
            raise ValueError(f"parallel tempering needs n_temperatures >= 2; got {n_temperatures}")
        super().__init__(rbm, config, generator, group)
        self.betas = temperature_ladder(n_temperatures).tolist()
        self.replicas = None  # (n_temperatures, n_chains, n_visible); replicas[0] is self.chain
        self.n_updates = 0
        # the fraction of chains that swapped, per pair of neighbouring temperatures, summed over the updates
        self.accepted = torch.zeros(n_temperatures - 1, dtype=rbm.weight.dtype, device=rbm.weight.device)

    def start(self, n_chains):
        start = self._start_chains(n_chains * len(self.betas))
        self.replicas = start.reshape(len(self.betas), n_chains, -1).clone()
        self.chain = self.replicas[0]

    def path(self):
        rbm = self.rbm
        n = rbm.n_visible - (getattr(rbm.visible, "n_labels", None) or 0)
        return RBMAnnealing(rbm, torch.zeros(n, dtype=rbm.weight.dtype, device=rbm.weight.device), self.draws)

    def advance(self, k):
        path, betas, replicas = self.path(), self.betas, self.replicas
        labels = replicas.shape[-1] != path.n  # a label RBM's chains hold [x, y]: y redrawn given x
        for i, beta in enumerate(betas):
            x = replicas[i][:, :path.n]
            for _ in range(k):
                x = path.step(x, beta)
            replicas[i] = torch.cat([x, path.draw_labels(x, beta)], 1) if labels else x
        for i in range(self.n_updates % 2, len(betas) - 1, 2):
            a, b = replicas[i][:, :path.n], replicas[i + 1][:, :path.n]
            log_r = (path.log_p(b, betas[i]) + path.log_p(a, betas[i + 1])
                     - path.log_p(a, betas[i]) - path.log_p(b, betas[i + 1]))
            swap = draw(torch.rand, log_r.shape, self.draws, log_r).log() < log_r
            self.accepted[i] += swap.to(self.accepted.dtype).mean()
            upper, lower = replicas[i].clone(), replicas[i + 1].clone()
            replicas[i][swap], replicas[i + 1][swap] = lower[swap], upper[swap]
        self.n_updates += 1
        self.chain = replicas[0]

    def swap_rates(self):
        """The fraction of proposed swaps accepted between each pair of neighbouring temperatures, (n - 1,)."""
        proposals = torch.tensor([math.ceil((self.n_updates - (i % 2)) / 2) for i in range(len(self.betas) - 1)],
                                 dtype=torch.float64).clamp_min(1)
        return (self.accepted.double().cpu() / proposals).tolist()

    def state_dict(self):
        state = super().state_dict()
        state.pop("chain", None)
        if self.replicas is not None:
            replicas = self.replicas if self.group is None else torch.stack(
                [self.group.stack_rows(r) for r in self.replicas])
            state["replicas"] = replicas
        # model files hold float32 and uint8 tensors: the count as its 8 little-endian bytes
        state["tempering"] = torch.tensor(list(self.n_updates.to_bytes(8, "little")), dtype=torch.uint8)
        state["tempering.accepted"] = self.accepted
        return state

    @torch.no_grad()
    def load_state_dict(self, state):
        super().load_state_dict({k: v for k, v in state.items() if k != "chain"})
        replicas = state.get("replicas")
        n = len(self.betas)
        if replicas is not None and (replicas.ndim != 3 or replicas.shape[0] != n
                                     or replicas.shape[2] != self.rbm.n_visible):
            raise ValueError(f"the saved replicas have shape {tuple(replicas.shape)}, expected ({n}, n_chains, "
                             f"{self.rbm.n_visible})")
        world, rank = (1, 0) if self.group is None else (self.group.world, self.group.rank)
        if replicas is None or replicas.shape[1] % world:
            self.replicas = self.chain = None
        else:
            share = replicas.shape[1] // world
            self.replicas = replicas[:, rank * share:(rank + 1) * share].to(self.rbm.weight.device).clone()
            self.chain = self.replicas[0]
        self.n_updates = int.from_bytes(bytes(checked_state(state, "tempering", (8,)).tolist()), "little")
        self.accepted = checked_state(state, "tempering.accepted", (n - 1,)).to(self.accepted).clone()

    def forget_chains(self):
        self.replicas = self.chain = None
