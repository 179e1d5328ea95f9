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
