"""The ``precision`` option: products in tf32 / bfloat16, everything else in float32."""
import numpy as np
import pytest
import torch

from deepbelief import RBM, DBNClassifier
from deepbelief.core.rbm import RBMModule
from deepbelief.training import precision_scope


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def test_bfloat16_rounds_only_the_products():
    g = torch.Generator().manual_seed(0)
    rbm = RBMModule(64, 32)
    rbm.weight.copy_(torch.randn(32, 64, generator=g))
    v = torch.rand(50, 64, generator=g)
    exact = rbm.pre_h(v)
    with precision_scope("bfloat16", "cpu"):
        rounded = rbm.pre_h(v)
        stats = rbm.cd_statistics(v, 1, torch.Generator().manual_seed(1))
    assert rounded.dtype == stats.grad_weight.dtype == stats.chain.dtype == torch.float32
    error = (rounded - exact).abs().max() / exact.abs().max()
    assert 0 < error < 2e-2  # bfloat16 has an 8-bit mantissa: relative rounding up to about 2^-8 per input


def test_tf32_on_a_cpu_is_float32_exactly(digits):
    X = digits[0][:300]
    exact = RBM(n_components=16, n_iter=2, random_state=0).fit(X).components_
    np.testing.assert_array_equal(RBM(n_components=16, n_iter=2, precision="tf32", random_state=0).fit(X).components_,
                                  exact)


@pytest.mark.slow
def test_bfloat16_training_matches_float32_closely(digits):
    X, y = digits
    scores = {}
    for precision in ("float32", "bfloat16"):
        rbm = RBM(n_components=64, n_iter=10, precision=precision, random_state=0).fit(X[:1400])
        clf = DBNClassifier((64,), pretrain="rbm", n_iter=3, max_iter=20, precision=precision,
                            random_state=0).fit(X[:1400], y[:1400])
        scores[precision] = rbm.reconstruction_error(X[1400:]).mean(), clf.score(X[1400:], y[1400:])
    (error32, accuracy32), (error16, accuracy16) = scores["float32"], scores["bfloat16"]
    assert abs(error16 - error32) < 0.05 * error32  # measured with 128 units: 2.156 vs 2.131
    assert abs(accuracy16 - accuracy32) < 0.03


def test_an_unknown_precision_is_refused(digits):
    with pytest.raises(ValueError, match="precision"):
        RBM(precision="float16").fit(digits[0][:20])
