"""Reference numbers and independent brute-force computations shared by the tests."""
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from deepbelief.core.rbm import RBMModule

# The project's shared datasets (../shared/data, the layout load_mnist reads), for the tests that use real data.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="../shared/data is not on this machine")

# The seed lecture's worked example (../shared/seeds/004_*): textbook orientation, W of shape (n_visible, n_hidden).
W1 = np.array([[0.3, -0.1, 0.5], [0.2, 0.4, -0.3], [-0.1, 0.6, 0.2], [0.4, -0.2, 0.1]])
B1 = np.array([-0.1, 0.2, 0.1])
W2 = np.array([[0.5, -0.3], [0.2, 0.7], [-0.4, 0.1]])
B2 = np.array([0.1, -0.2])
V_EXAMPLE = np.array([[1.0, 0.0, 1.0, 1.0]])


def random_rbm(n_visible, n_hidden, visible="bernoulli", scale=1.0, seed=0, dtype=torch.float64, hidden="bernoulli"):
    """A float64 RBMModule with random parameters."""
    g = torch.Generator().manual_seed(seed)
    rbm = RBMModule(n_visible, n_hidden, visible=visible, hidden=hidden, dtype=dtype)
    rbm.weight.copy_(torch.randn(n_hidden, n_visible, generator=g, dtype=dtype) * scale)
    rbm.visible_bias.copy_(torch.randn(n_visible, generator=g, dtype=dtype) * scale)
    rbm.hidden_bias.copy_(torch.randn(n_hidden, generator=g, dtype=dtype) * scale)
    return rbm


def all_binary(n):
    """All 2^n binary vectors as a float64 NumPy array, written independently of the library's enumerator."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def numpy_params(rbm):
    """(W textbook (n_visible, n_hidden), a, b) as NumPy float64."""
    return (rbm.weight.detach().numpy().T.astype(np.float64), rbm.visible_bias.detach().numpy().astype(np.float64),
            rbm.hidden_bias.detach().numpy().astype(np.float64))


def joint_table(rbm):
    """Brute force over every (v, h) of a binary RBM: (V, H, log-weights -E(v, h) of shape (2^nv, 2^nh))."""
    W, a, b = numpy_params(rbm)
    V, H = all_binary(W.shape[0]), all_binary(W.shape[1])
    neg_energy = (V @ a)[:, None] + (H @ b)[None, :] + V @ W @ H.T
    return V, H, neg_energy
