import numpy as np
import pytest
import torch

from deepbelief.core.dbn import DBNModule
from deepbelief.core.rbm import RBMModule

from tests.helpers import B1, B2, V_EXAMPLE, W1, W2


def example_dbn():
    rbm1, rbm2 = RBMModule(4, 3, dtype=torch.float64), RBMModule(3, 2, dtype=torch.float64)
    rbm1.weight.copy_(torch.tensor(W1.T))
    rbm1.hidden_bias.copy_(torch.tensor(B1))
    rbm2.weight.copy_(torch.tensor(W2.T))
    rbm2.visible_bias.copy_(torch.tensor(B1))  # the generative bias of layer 1, as in the seed's example 3
    rbm2.hidden_bias.copy_(torch.tensor(B2))
    return DBNModule([rbm1, rbm2])


def test_seed_example_bottom_up():
    dbn = example_dbn()
    v = torch.tensor(V_EXAMPLE)
    np.testing.assert_allclose(dbn.up(v, 0).numpy(), [[0.622, 0.622, 0.711]], atol=5e-4)
    # The seed rounds h1 before the second layer (0.5625 exactly vs its 0.562), hence 1e-3 on the full chain
    # and 5e-4 from the seed's own rounded h1.
    np.testing.assert_allclose(dbn.up(v).numpy(), [[0.562, 0.530]], atol=1e-3)
    h1_rounded = torch.tensor([[0.622, 0.622, 0.711]], dtype=torch.float64)
    np.testing.assert_allclose(dbn.rbms[1].prob_h_given_v(h1_rounded).numpy(), [[0.562, 0.530]], atol=5e-4)


def test_seed_example_top_down():
    dbn = example_dbn()
    h2 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    np.testing.assert_allclose(dbn.rbms[1].mean_v_given_h(h2).numpy(), [[0.599, 0.599, 0.426]], atol=5e-4)
    h1 = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)
    np.testing.assert_allclose(dbn.down(h1, 0).numpy(), [[0.550, 0.646, 0.622, 0.550]], atol=5e-4)


def test_down_composes_the_layers():
    dbn = example_dbn()
    h2 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(dbn.down(h2), dbn.rbms[0].mean_v_given_h(dbn.rbms[1].mean_v_given_h(h2)))


def test_sizes_must_chain():
    with pytest.raises(ValueError, match="3 hidden units is followed by one with 4 visible units"):
        DBNModule([RBMModule(5, 3), RBMModule(4, 2)])


def test_denoise_estimates_the_exact_conditional_mean():
    # One RBM: E[v_unknown | v_known] by enumerating the unknown entries, P(v) ~ exp(-F(v)).
    from tests.helpers import all_binary, random_rbm
    rbm = random_rbm(6, 4, seed=3)
    dbn = DBNModule([rbm])
    known = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    unknown = torch.tensor([False, False, False, True, True, True])
    completions = torch.tensor(all_binary(3))
    rows = known.repeat(len(completions), 1)
    rows[:, 3:] = completions
    weights = torch.softmax(-rbm.free_energy(rows), 0)
    exact = (weights[:, None] * completions).sum(0)
    v = known.repeat(400, 1)
    estimate = dbn.denoise(v, unknown.repeat(400, 1), 400, torch.Generator().manual_seed(0))
    assert torch.equal(estimate[:, :3], v[:, :3])  # the known entries are returned exactly
    np.testing.assert_allclose(estimate[:, 3:].mean(0).numpy(), exact.numpy(), atol=0.01)
