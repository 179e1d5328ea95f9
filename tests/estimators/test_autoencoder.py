import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from deepbelief import DeepAutoencoder


@pytest.fixture(scope="module")
def digits():
    X = (load_digits().data / 16).astype(np.float32)
    return X[:1400], X[1400:]


@pytest.mark.slow
def test_beats_pca_with_the_same_code_size(digits):
    train, test = digits
    pca = PCA(10).fit(train)
    pca_error = ((pca.inverse_transform(pca.transform(test)) - test) ** 2).sum(1).mean()  # 1.30
    # On digits, Adam from random weights does better than from the pretrained ones (measured 1.07 vs 1.30-1.58).
    ae = DeepAutoencoder(hidden_layer_sizes=(128, 64, 10), pretrain=False, learning_rate=1e-2, max_iter=150,
                         random_state=0).fit(train)
    assert -ae.score(test) < 0.9 * pca_error
    assert ae.transform(test).shape == (len(test), 10) and ae.rbms_ == []
    pretrained = DeepAutoencoder(hidden_layer_sizes=(128, 64, 10), learning_rate_rbm=[0.1, 0.1, 0.01], n_iter=20,
                                 max_iter=20, batch_size=32, random_state=0).fit(train)
    assert pretrained.rbms_[-1].hidden == "gaussian" and pretrained.rbms_[0].hidden == "bernoulli"
    assert pretrained.loss_curve_[-1] < pretrained.loss_curve_[0]
    assert -pretrained.score(test) < 2.5 * pca_error  # 2.04 after these 20 epochs


def test_unrolled_weights_start_tied(digits):
    train, _ = digits
    ae = DeepAutoencoder(hidden_layer_sizes=(16, 4), n_iter=2, max_iter=0, random_state=0).fit(train)
    rbm0, rbm1 = ae.rbms_
    code = train[:5] @ rbm0.components_.T + rbm0.intercept_hidden_
    code = 1 / (1 + np.exp(-code)) @ rbm1.components_.T + rbm1.intercept_hidden_
    np.testing.assert_allclose(ae.transform(train[:5]), code, rtol=1e-4, atol=1e-5)  # linear code layer
    np.testing.assert_allclose(ae.inverse_transform(code), rbm0.inverse_transform(rbm1.inverse_transform(code)),
                               rtol=1e-4, atol=1e-5)


def test_pretraining_lr_schedule_reaches_every_rbm(digits):
    train, _ = digits
    settings = dict(hidden_layer_sizes=(16, 4), n_iter=3, max_iter=0, random_state=0)
    linear = DeepAutoencoder(lr_schedule_rbm="linear", **settings).fit(train)
    constant = DeepAutoencoder(**settings).fit(train)
    assert [rbm.lr_schedule for rbm in linear.rbms_] == ["linear", "linear"]
    assert not np.array_equal(linear.rbms_[0].components_, constant.rbms_[0].components_)


@pytest.mark.slow
def test_gaussian_data_and_errors():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(300, 3)) @ rng.normal(size=(3, 8)) * 5 + 100).astype(np.float32)
    ae = DeepAutoencoder(hidden_layer_sizes=(16, 3), visible="gaussian", n_iter=3, learning_rate=1e-2, max_iter=200,
                         batch_size=32, random_state=0).fit(X)
    assert -ae.score(X) < 0.3 * ((X - X.mean(0)) ** 2).sum(1).mean()  # rank-3 data, 3-unit code: measured 0.16
    with pytest.raises(ValueError, match="Z has 2 columns"):
        ae.inverse_transform(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="values in"):
        DeepAutoencoder(hidden_layer_sizes=(4,), visible="bernoulli").fit(X)
    a = DeepAutoencoder(hidden_layer_sizes=(4, 2), n_iter=1, max_iter=2, random_state=3).fit(X / X.max())
    b = DeepAutoencoder(hidden_layer_sizes=(4, 2), n_iter=1, max_iter=2, random_state=3).fit(X / X.max())
    assert all(torch.equal(p, q) for p, q in zip(a.encoder_.parameters(), b.encoder_.parameters()))
