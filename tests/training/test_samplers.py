"""Fast-weights PCD and parallel tempering: the particles they draw and the updates they make."""
import numpy as np
import pytest
import torch

from deepbelief.core.estimate import log_partition_exact
from deepbelief.core.rbm import RBMModule
from deepbelief.core.units import LabelledUnits
from deepbelief.training import CDConfig, CDTrainer, FastPCDTrainer, TemperedTrainer
from deepbelief.training.samplers import FAST_DECAY

from tests.helpers import all_binary, random_rbm


def bimodal_rbm():
    """Two strong modes, all-on and all-off: Gibbs chains started in one rarely reach the other."""
    rbm = RBMModule(6, 2, dtype=torch.float64)
    rbm.weight.copy_(torch.tensor([[4.0] * 6, [4.0] * 6]))
    rbm.hidden_bias.fill_(-12.0)
    rbm.visible_bias.fill_(-4.0)
    return rbm


def exact_distribution(rbm):
    V = torch.tensor(all_binary(rbm.n_visible))
    return torch.exp(-rbm.free_energy(V) - log_partition_exact(rbm))


def empirical_distribution(states):
    codes = (states * 2 ** torch.arange(states.shape[1] - 1, -1, -1, dtype=states.dtype)).sum(1).long()
    return torch.bincount(codes, minlength=2 ** states.shape[1]).double() / len(codes)


def chain_distribution(trainer, n_chains=500, sweeps=60, burn_in=20):
    trainer.start(n_chains)
    seen = []
    for sweep in range(sweeps):
        trainer.advance(1)
        if sweep >= burn_in:
            seen.append(trainer.chain.clone())
    return empirical_distribution(torch.cat(seen))


def test_tempered_chains_sample_the_exact_distribution_where_gibbs_chains_stick():
    rbm = bimodal_rbm()
    exact = exact_distribution(rbm)
    assert exact[0] > 0.3 and exact[-1] > 0.3  # two modes
    tempered = TemperedTrainer(rbm, CDConfig(), torch.Generator().manual_seed(0), n_temperatures=12)
    tv_tempered = 0.5 * (chain_distribution(tempered) - exact).abs().sum().item()
    # plain Gibbs chains from the same start (the base rate of the visible biases: near all-off)
    gibbs = CDTrainer(rbm, CDConfig(persistent=True), torch.Generator().manual_seed(0))
    chains = gibbs._start_chains(500)
    seen = []
    for sweep in range(60):
        chains = rbm.gibbs_vhv(chains, gibbs.generator)[1]
        if sweep >= 20:
            seen.append(chains)
    tv_gibbs = 0.5 * (empirical_distribution(torch.cat(seen)) - exact).abs().sum().item()
    assert tv_tempered < 0.08 and tv_gibbs > 0.3
    assert min(tempered.swap_rates()) > 0.05


def test_tempered_label_chains_keep_one_hot_labels_and_sample_the_joint_distribution():
    rbm = RBMModule(5, 3, visible=LabelledUnits("bernoulli", 3, 2), dtype=torch.float64)
    rbm.load_state_dict(random_rbm(5, 3, seed=4).state_dict())
    tempered = TemperedTrainer(rbm, CDConfig(), torch.Generator().manual_seed(1), n_temperatures=4)
    V = torch.tensor(np.concatenate([np.c_[all_binary(3), np.tile(y, (8, 1))] for y in ([1.0, 0.0], [0.0, 1.0])]))
    exact = torch.exp(-rbm.free_energy(V) - log_partition_exact(rbm))
    tempered.start(400)
    seen = []
    for _ in range(50):
        tempered.advance(1)
        assert torch.all(tempered.chain[:, 3:].sum(1) == 1)
        seen.append(tempered.chain.clone())
    states = torch.cat(seen)
    codes = (states[:, :3] * torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64)).sum(1).long() + 8 * states[:, 4].long()
    empirical = torch.bincount(codes, minlength=16).double() / len(codes)
    assert 0.5 * (empirical - exact).abs().sum().item() < 0.03


def test_fast_pcd_first_update_is_pcd_and_the_fast_weights_decay():
    data = (torch.rand(20, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) < 0.4).double()
    config = CDConfig(learning_rate=0.1, persistent=True)
    pcd, fast = random_rbm(6, 4, seed=1, scale=0.3), random_rbm(6, 4, seed=1, scale=0.3)
    pcd_trainer = CDTrainer(pcd, config, torch.Generator().manual_seed(2))
    fast_trainer = FastPCDTrainer(fast, config, torch.Generator().manual_seed(2))
    pcd_trainer.step(data)
    fast_trainer.step(data)
    for a, b in zip(pcd.parameters(), fast.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)  # fast weights 0: the same particles
    first = [f.clone() for f in fast_trainer.fast]
    # the first step's direction: velocity / rate (momentum started at 0)
    for f, v in zip(first, fast_trainer.velocity):
        torch.testing.assert_close(f, v, rtol=1e-12, atol=1e-14)
    after_first = [p.clone() for p in fast_trainer.params]
    fast_trainer.step(data)
    direction = [(v - 0.5 * v0) / 0.1 for v, v0 in zip(fast_trainer.velocity, first)]  # grad of the second step
    for f, f0, g in zip(fast_trainer.fast, first, direction):
        torch.testing.assert_close(f, FAST_DECAY * f0 + 0.1 * g, rtol=1e-10, atol=1e-12)
    # the second update's particles came from the parameters after the first plus the fast ones after it
    for total, regular, f in zip(fast_trainer.sampler.cd_parameters(), after_first, first):
        torch.testing.assert_close(total, regular + f, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("trainer", [FastPCDTrainer, TemperedTrainer])
def test_persistent_samplers_raise_the_exact_likelihood(trainer):
    X = torch.tensor(all_binary(6)[[0, 7, 56, 63, 3, 60] * 10])
    rbm = RBMModule(6, 4, dtype=torch.float64)
    rbm.weight.copy_(torch.randn(4, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.01)
    before = (-rbm.free_energy(X) - log_partition_exact(rbm)).mean().item()
    t = trainer(rbm, CDConfig(learning_rate=0.05, schedule="linear", n_epochs=100),
                torch.Generator().manual_seed(1))
    for epoch in range(100):
        t.run_epoch(X, 10, epoch)
    after = (-rbm.free_energy(X) - log_partition_exact(rbm)).mean().item()
    assert after > before + 1.0


def test_tempered_trainer_checks_its_temperatures():
    with pytest.raises(ValueError, match="n_temperatures >= 2"):
        TemperedTrainer(random_rbm(4, 3), CDConfig(), torch.Generator(), n_temperatures=1)
