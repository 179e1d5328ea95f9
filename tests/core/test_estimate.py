import numpy as np
import pytest
import torch

from deepbelief.core.estimate import (binary_states, log_partition_exact, pseudo_log_likelihood,
                                      reconstruction_error)
from deepbelief.core.rbm import RBMModule

from tests.helpers import all_binary, random_rbm


def test_binary_states_enumerates_every_vector_once():
    states = binary_states(4, dtype=torch.float64).numpy()
    np.testing.assert_array_equal(states, all_binary(4))


def test_pseudo_log_likelihood_matches_flipping_each_bit():
    rbm = random_rbm(7, 5, seed=1)
    v = torch.tensor(all_binary(7)[[0, 5, 77, 127]])
    expected = np.zeros(len(v))
    for i in range(7):
        flipped = v.clone()
        flipped[:, i] = 1 - flipped[:, i]
        f, f_flip = rbm.free_energy(v).numpy(), rbm.free_energy(flipped).numpy()
        expected += -np.logaddexp(0, f - f_flip)  # log e^-F / (e^-F + e^-F_flip)
    np.testing.assert_allclose(pseudo_log_likelihood(rbm, v, chunk=3).numpy(), expected, rtol=1e-12)


def test_pseudo_log_likelihood_refuses_gaussian_units():
    with pytest.raises(ValueError, match="Bernoulli visible units"):
        pseudo_log_likelihood(random_rbm(3, 2, visible="gaussian"), torch.zeros(1, 3, dtype=torch.float64))


def test_exact_log_partition_refuses_large_models():
    with pytest.raises(ValueError, match="2\\^30 states.*AIS"):
        log_partition_exact(RBMModule(40, 30))


def test_exact_log_partition_needs_a_binary_layer():
    with pytest.raises(ValueError, match="binary layer"):
        log_partition_exact(RBMModule(3, 2, visible="gaussian", hidden="gaussian"))


def test_reconstruction_error_is_the_mean_field_round_trip():
    rbm = random_rbm(6, 3, seed=2)
    v = torch.tensor(all_binary(6)[[4, 33]])
    rec = torch.sigmoid(rbm.visible_bias + torch.sigmoid(rbm.hidden_bias + v @ rbm.weight.T) @ rbm.weight)
    torch.testing.assert_close(reconstruction_error(rbm, v), ((v - rec) ** 2).sum(1))


# annealing: AIS for every unit type, RAISE from below ------------------------------------------------------
import math  # noqa: E402

from deepbelief.core import estimate  # noqa: E402
from deepbelief.core.units import LabelledUnits  # noqa: E402


def ais_log_z(rbm, n_runs=200, n_betas=2000, seed=0):
    betas = torch.linspace(0, 1, n_betas, dtype=torch.float64)
    base = torch.zeros(rbm.n_visible - getattr(rbm.visible, "n_labels", 0), dtype=torch.float64)
    log_w, log_z_base = estimate.ais_log_weights(rbm, n_runs, betas, base, torch.Generator().manual_seed(seed))
    return (torch.logsumexp(log_w, 0) - math.log(n_runs)).item() + log_z_base


def label_rbm(seed=0):
    rbm = RBMModule(8, 4, visible=LabelledUnits("bernoulli", 5, 3), dtype=torch.float64)
    rbm.load_state_dict(random_rbm(8, 4, seed=seed).state_dict())
    return rbm


def test_ais_sums_the_labels_out_of_a_label_rbm():
    rbm = label_rbm()
    # exact: enumerate the 4 hidden units; each hidden state's free energy sums the data units and the label out
    assert ais_log_z(rbm) == pytest.approx(log_partition_exact(rbm).item(), abs=0.05)
    # and p*_1 is -F(x) with the label summed out
    x = torch.tensor(all_binary(5)[[1, 9, 30]])
    anneal = estimate.RBMAnnealing(rbm, torch.zeros(5, dtype=torch.float64), torch.Generator())
    torch.testing.assert_close(anneal.log_p(x, 1.0), -rbm.label_free_energy(x), rtol=1e-12, atol=1e-12)


def test_ais_of_rectified_hidden_units_counts_their_binary_copies():
    rbm = random_rbm(6, 3, hidden="relu", scale=0.5, seed=2)
    exact = torch.logsumexp(-rbm.free_energy(torch.tensor(all_binary(6))), 0).item()
    assert ais_log_z(rbm, n_betas=1000) == pytest.approx(exact, abs=0.05)


def test_ais_refuses_gaussian_hidden_units():
    with pytest.raises(ValueError, match="Gaussian layer has no base distribution"):
        ais_log_z(random_rbm(4, 3, hidden="gaussian"))


def model_weighted_raise(rbm, n_betas, seed, n_runs=20):
    """sum_v P(v) RAISE(v) over every visible state, and the model's negative entropy sum_v P(v) log P(v)."""
    V = torch.tensor(all_binary(rbm.n_visible))
    log_p = -rbm.free_energy(V) - log_partition_exact(rbm)
    betas = torch.linspace(0, 1, n_betas, dtype=torch.float64)
    rows, _ = estimate.raise_log_likelihood(rbm, V, n_runs, betas, torch.zeros(rbm.n_visible, dtype=torch.float64),
                                            torch.Generator().manual_seed(seed))
    return (log_p.exp() * rows).sum().item(), (log_p.exp() * log_p).sum().item(), rows, log_p


def gibbs_matrix(rbm, beta):
    """T[v, v'] of one Gibbs sweep v -> h -> v' at inverse temperature beta (base biases 0), by enumeration."""
    V, H = torch.tensor(all_binary(rbm.n_visible)), torch.tensor(all_binary(rbm.n_hidden))
    ph, pv = torch.sigmoid(beta * rbm.pre_h(V)), torch.sigmoid(beta * rbm.pre_v(H))
    PH = torch.where(H[None] == 1, ph[:, None], 1 - ph[:, None]).prod(-1)  # (v, h)
    PV = torch.where(V[None] == 1, pv[:, None], 1 - pv[:, None]).prod(-1)  # (h, v')
    return PH @ PV


def test_raise_weights_are_unbiased_for_the_annealing_model():
    """E[w] = p_ann(v), the law of the last state of a forward run: base draw, then a sweep at each beta > 0."""
    rbm = random_rbm(4, 3, seed=0)
    betas = [0.0, 0.3, 0.7, 1.0]
    p_ann = torch.full((16,), 1 / 16, dtype=torch.float64)
    for beta in betas[1:]:
        p_ann = p_ann @ gibbs_matrix(rbm, beta)
    V = torch.tensor(all_binary(4))
    _, log_w = estimate.raise_log_likelihood(rbm, V, 20000, torch.tensor(betas, dtype=torch.float64),
                                             torch.zeros(4, dtype=torch.float64), torch.Generator().manual_seed(0))
    mean_w = torch.logsumexp(log_w, 1) - math.log(20000)
    torch.testing.assert_close(mean_w, p_ann.log(), atol=0.02, rtol=0)
    exact = -rbm.free_energy(V) - log_partition_exact(rbm)
    assert (exact - p_ann.log()).abs().max() > 0.05  # four temperatures: the annealing model is not the RBM yet


@pytest.mark.parametrize("seed", range(4))
def test_raise_lies_below_the_exact_log_likelihood_averaged_over_the_model(seed):
    """E_p[log RAISE] <= E_p[log p_ann] <= E_p[log p] (Jensen, then Gibbs' inequality); with few temperatures
    the gap is far larger than the Monte Carlo noise."""
    raised, exact, _, _ = model_weighted_raise(random_rbm(8, 5, seed=seed), 2, seed)
    assert raised < exact - 0.02


def test_raise_converges_to_the_exact_log_likelihood_as_temperatures_are_added():
    rbm = random_rbm(8, 5, seed=7)
    errors = []
    for n_betas in (5, 50, 1000):
        _, _, rows, log_p = model_weighted_raise(rbm, n_betas, 1)
        errors.append((log_p.exp() * (rows - log_p).abs()).sum().item())  # the model-weighted mean error
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02


def test_raise_of_a_label_rbm_sums_the_labels_out():
    rbm = label_rbm(seed=3)
    V = torch.tensor(all_binary(5))
    log_p = -rbm.label_free_energy(V) - log_partition_exact(rbm)
    rows, log_w = estimate.raise_log_likelihood(rbm, V, 10, torch.linspace(0, 1, 1000, dtype=torch.float64),
                                                torch.zeros(5, dtype=torch.float64), torch.Generator().manual_seed(0))
    assert log_w.shape == (32, 10)
    torch.testing.assert_close(rows, log_p, atol=0.05, rtol=0)
