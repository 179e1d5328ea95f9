"""ConvRBM and ConvDBN estimators: image inputs, the scikit-learn contract, features that classify, Gaussian
pixels, sparse input, inpainting, generation, model files and exact resume."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

import deepbelief
from deepbelief import ConvDBN, ConvRBM
from deepbelief.errors import ModelFileError


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def test_image_layouts_give_the_same_model(digits):
    X = digits[0][:200]
    settings = dict(n_filters=4, filter_size=3, n_iter=1, random_state=0)
    flat = ConvRBM(**settings).fit(X)
    assert flat.image_shape_ == (1, 8, 8)
    for layout, extra in ((X.reshape(-1, 8, 8), {}), (X.reshape(-1, 1, 8, 8), {}), (X, {"image_shape": (8, 8)})):
        other = ConvRBM(**settings, **extra).fit(layout)
        np.testing.assert_array_equal(other.filters_, flat.filters_)
        np.testing.assert_array_equal(other.transform(layout), flat.transform(X))
    maps = flat.transform(X, maps=True)
    assert maps.shape == (200, 4, 3, 3) and maps.dtype == np.float32
    np.testing.assert_array_equal(maps.reshape(200, -1), flat.transform(X))
    assert ((maps >= 0) & (maps <= 1)).all()
    with pytest.raises(ValueError, match="not a square number"):
        ConvRBM(n_iter=1).fit(X[:, :60])
    with pytest.raises(ValueError, match=r"image_shape=\(4, 16\) but X holds images of shape \(1, 8, 8\)"):
        ConvRBM(image_shape=(4, 16), n_iter=1).fit(X.reshape(-1, 8, 8))
    assert ConvRBM(n_filters=2, n_iter=1).fit(X.tolist()).image_shape_ == (1, 8, 8)
    with pytest.raises(ValueError, match="needs 48 columns"):
        ConvRBM(image_shape=(3, 4, 4), n_iter=1).fit(X)
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\)"):
        flat.transform(X.reshape(-1, 4, 16))


def test_rgb_images_and_two_layers():
    rng = np.random.default_rng(0)
    X = rng.random((60, 3, 12, 10)).astype(np.float32)
    cdbn = ConvDBN(n_filters=(5, 6), filter_size=[3, (2, 3)], pool_size=2, n_iter=1, random_state=0).fit(X)
    assert [m.image_shape for m in cdbn.modules_] == [(3, 12, 10), (5, 5, 4)]
    assert cdbn.filters_.shape == (5, 3, 3, 3) and cdbn.components_.shape == (5, 27)
    assert cdbn.transform(X, layer=0).shape == (60, 5 * 5 * 4)
    assert cdbn.transform(X).shape == (60, 6 * 2 * 1)  # 4x2 detection maps in 2x2 blocks
    assert cdbn.transform(X, layer="all").shape == (60, 100 + 12)
    assert len(cdbn.history_) == 2 and all(len(h) == 1 for h in cdbn.history_)
    with pytest.raises(ValueError, match=r"layer 1 \(input maps \(5, 5, 4\)\): filter_size \(5, 5\) is larger"):
        ConvDBN(n_filters=(5, 6), filter_size=[3, 5], n_iter=1).fit(X)
    with pytest.raises(ValueError, match="pool_size has 3 entries but there are 2 layers"):
        ConvDBN(n_filters=(5, 6), pool_size=[1, 2, 2], n_iter=1).fit(X)
    with pytest.raises(ValueError, match="layer='all' gives rows"):
        cdbn.transform(X, layer="all", maps=True)


def test_features_classify_digits_in_a_pipeline(digits):
    X, y = digits
    model = make_pipeline(ConvRBM(n_filters=12, n_iter=3, random_state=0), LogisticRegression(max_iter=500))
    score = cross_val_score(model, X, y, cv=3).mean()
    assert score > 0.8, score  # pixels without features: 0.93 (8x8 digits are too small to need features)
    untrained = make_pipeline(ConvRBM(n_filters=12, n_iter=0, random_state=0), LogisticRegression(max_iter=500))
    assert score > cross_val_score(untrained, X, y, cv=3).mean() + 0.1  # the learned filters carry the accuracy


def test_training_lowers_reconstruction_error_and_sparsity_holds_the_target(digits):
    X = digits[0]
    settings = dict(n_filters=8, filter_size=5, random_state=0)
    error = {n: ((ConvRBM(n_iter=n, sparsity_cost=0.0, **settings).fit(X).reconstruct(X) - X) ** 2).mean()
             for n in (0, 4)}
    assert error[4] < 0.6 * error[0], error
    crbm = ConvRBM(n_iter=4, sparsity_cost=1.0, sparsity_target=0.05, **settings).fit(X)
    free = ConvRBM(n_iter=4, sparsity_cost=0.0, **settings).fit(X)
    detection, free_detection = (m.modules_[0].prob_h_given_v(torch.as_tensor(X))[0].mean().item()
                                 for m in (crbm, free))
    assert abs(detection - 0.05) < 0.02 and free_detection > 2 * detection, (detection, free_detection)


def test_reproducible_and_clonable(digits):
    X = digits[0][:150]
    a = ConvDBN(n_filters=(3, 4), n_iter=1, random_state=3).fit(X)
    b = clone(a).fit(X)
    for m, n in zip(a.modules_, b.modules_):
        for p, q in zip(m.parameters(), n.parameters()):
            assert torch.equal(p, q)
    c = ConvDBN(n_filters=(3, 4), n_iter=1, random_state=4).fit(X)
    assert not np.array_equal(a.filters_, c.filters_)
    assert ConvRBM(n_filters=7).get_params()["n_filters"] == 7
    single = ConvDBN(n_filters=(3,), n_iter=1, random_state=3).fit(X)
    np.testing.assert_array_equal(ConvRBM(n_filters=3, n_iter=1, random_state=3).fit(X).filters_, single.filters_)


def test_gaussian_pixels_standardised_by_channel():
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(80, 2, 6, 6)) * np.array([3.0, 0.5])[None, :, None, None] + 10).astype(np.float32)
    crbm = ConvRBM(n_filters=4, n_iter=3, random_state=0).fit(X)
    assert crbm.visible_ == "gaussian"
    scale = crbm.data_scale_.reshape(2, 36)
    assert np.allclose(scale[0], scale[0, 0]) and abs(scale[0, 0] - 3.0) < 0.3 and abs(scale[1, 0] - 0.5) < 0.05
    assert np.isfinite([h["reconstruction_error"] for h in crbm.history_[0]]).all()
    out = crbm.reconstruct(X)
    assert out.shape == (80, 72) and abs(out.mean() - 10) < 1.0  # back in the data's units
    assert np.isfinite(crbm.score_samples(X)).all()


def test_sparse_input_equals_dense(digits):
    X = digits[0][:200].copy()
    X[X < 0.3] = 0
    settings = dict(n_filters=(3, 4), n_iter=2, batch_size=40, random_state=0)
    dense = ConvDBN(**settings).fit(X)
    sparse = ConvDBN(**settings).fit(sp.csr_matrix(X))
    for m, n in zip(dense.modules_, sparse.modules_):
        for p, q in zip(m.parameters(), n.parameters()):
            torch.testing.assert_close(p, q)
    np.testing.assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), atol=1e-6)


def test_inpainting_fills_the_unknown_pixels_from_their_neighbours(digits):
    X, _ = digits
    crbm = ConvRBM(n_filters=16, pool_size=1, n_iter=5, sparsity_cost=0.0, random_state=0).fit(X[:1000])
    test = X[1500:]
    mask = np.random.default_rng(0).random(test.shape) < 0.3  # 30% of the pixels unknown
    errors = {n: ((crbm.denoise(test, mask=mask, n_iter=n) - test)[mask] ** 2).mean() for n in (1, 5)}
    constant = ((X[:1000].mean() - test)[mask] ** 2).mean()  # what a translation-invariant model knows alone
    assert errors[5] < errors[1] < 0.7 * constant, (errors, constant)  # measured 0.075, 0.087 vs 0.143
    filled = crbm.denoise(test, mask=mask)
    np.testing.assert_array_equal(filled[~mask], test[~mask])
    nan = test.copy()
    nan[mask] = np.nan
    np.testing.assert_array_equal(crbm.denoise(nan), filled)
    assert crbm.denoise(test).shape == test.shape  # no unknown pixels: the reconstruction


def test_generate(digits):
    cdbn = ConvDBN(n_filters=(6, 4), n_iter=2, random_state=0).fit(digits[0][:300])
    a = cdbn.generate(5, burn_in=20, random_state=1)
    assert a.shape == (5, 64) and ((a >= 0) & (a <= 1)).all()
    np.testing.assert_array_equal(a, cdbn.generate(5, burn_in=20, random_state=1))
    assert not np.array_equal(a, cdbn.generate(5, burn_in=20, random_state=2))
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        cdbn.generate(0)


def test_save_load_and_refused_files(digits, tmp_path):
    X = digits[0][:200]
    cdbn = ConvDBN(n_filters=(3, 4), n_iter=1, random_state=0).fit(X)
    path = tmp_path / "cdbn.safetensors"
    cdbn.save(path)
    loaded = deepbelief.load(path)
    assert isinstance(loaded, ConvDBN) and loaded.image_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(loaded.transform(X, layer="all"), cdbn.transform(X, layer="all"))
    np.testing.assert_array_equal(loaded.generate(2, burn_in=5, random_state=0),
                                  cdbn.generate(2, burn_in=5, random_state=0))
    from tests.test_io import rewrite
    small = path.read_bytes()
    for edit, message in ((dict(tensors_extra={"1.weight": torch.zeros(4, 3, 2, 2)}), "'1.weight' has shape"),
                          (dict(edit_state=lambda s: s.update(image_shape=[1, 9, 9])), "does not match 64 features"),
                          (dict(edit_state=lambda s: s["params"].update(n_filters=[3, 5])), "saved sizes need"),
                          (dict(edit_state=lambda s: s["params"].update(filter_size=9)), "larger than the images")):
        rewrite(small, tmp_path / "bad.safetensors", **edit)
        with pytest.raises(ModelFileError, match=message):
            deepbelief.load(tmp_path / "bad.safetensors")


def test_an_interrupted_fit_resumes_to_the_same_model(digits, tmp_path, monkeypatch):
    from deepbelief.training import CDTrainer

    X = digits[0][:300]
    settings = dict(n_filters=(4, 3), n_iter=2, batch_size=50, persistent=True, random_state=0)
    reference = ConvDBN(**settings).fit(X)
    real, steps = CDTrainer.step, []

    def step(self, *args, **kwargs):
        steps.append(1)
        if len(steps) == 2 * 6 + 6 + 3:  # in the second layer's second epoch
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CDTrainer, "step", step)
    with pytest.raises(KeyboardInterrupt):
        ConvDBN(checkpoint_dir=tmp_path, **settings).fit(X)
    monkeypatch.undo()
    resumed = ConvDBN(checkpoint_dir=tmp_path, **settings).fit(X, resume=True)
    for m, n in zip(resumed.modules_, reference.modules_):
        for p, q in zip(m.parameters(), n.parameters()):
            assert torch.equal(p, q)
    assert resumed.history_ == reference.history_
    with pytest.raises(ValueError, match="hyperparameters"):
        ConvDBN(checkpoint_dir=tmp_path, **{**settings, "sparsity_cost": 0.1}).fit(X, resume=True)


def test_to_torch_computes_transform_and_fine_tunes(digits):
    X, y = digits[0][:300], digits[1][:300]
    cdbn = ConvDBN(n_filters=(8, 16), filter_size=[3, 2], n_iter=1, random_state=0).fit(X)  # 3x3 maps, 2x2 blocks
    net = cdbn.to_torch()
    x = torch.as_tensor(X)
    np.testing.assert_allclose(net(x).detach().numpy(), cdbn.transform(X), atol=1e-6)
    torch.manual_seed(0)  # the head's initial weights (the global generator, as torch layers draw them)
    head = torch.nn.Sequential(net, torch.nn.Linear(cdbn.transform(X[:1]).shape[1], 10))
    optimizer = torch.optim.Adam(head.parameters(), lr=0.05)
    target = torch.as_tensor(y)
    losses = []
    for _ in range(100):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses  # measured 2.33 -> 0.99
    assert net[1].weight.grad is not None and net[1].weight.grad.abs().sum() > 0  # the filters are fine-tuned too
    np.testing.assert_array_equal(cdbn.filters_, cdbn.modules_[0].weight.numpy())  # the model is left as it was


def test_plot_filters_of_conv_models(digits, tmp_path):
    from deepbelief.plot import plot_filters
    plot_filters(ConvRBM(n_filters=4, n_iter=1, random_state=0).fit(digits[0][:100]), save=tmp_path / "f.png")
    rgb = ConvRBM(n_filters=4, n_iter=1, random_state=0).fit(np.random.default_rng(0).random((20, 3, 6, 6)))
    fig = plot_filters(rgb)
    assert fig.axes[0].images[0].get_array().shape == (3, 3, 3)
    assert (tmp_path / "f.png").stat().st_size > 0


def test_scikit_learn_contract_by_hand(digits):
    """The common checks feed tables of any width, which are not images; the contract they check, checked here."""
    import pickle

    import pandas as pd
    from sklearn.model_selection import GridSearchCV

    X, y = digits[0][:300], digits[1][:300]
    crbm = ConvRBM(n_filters=3, n_iter=1, random_state=0)
    assert crbm.set_params(n_filters=4) is crbm and clone(crbm).get_params() == crbm.get_params()
    with pytest.raises(Exception, match="not fitted"):
        crbm.transform(X)
    frame = pd.DataFrame(X, columns=[f"p{i}" for i in range(64)])
    crbm.fit(frame)
    assert list(crbm.feature_names_in_) == list(frame.columns) and crbm.n_features_in_ == 64
    again = pickle.loads(pickle.dumps(crbm))
    np.testing.assert_array_equal(again.transform(X), crbm.transform(X))
    assert crbm.transform(X.astype(np.float64)).dtype == np.float32
    search = GridSearchCV(make_pipeline(ConvRBM(n_iter=1, random_state=0), LogisticRegression(max_iter=200)),
                          {"convrbm__n_filters": [2, 4]}, cv=2).fit(X, y)
    assert search.best_params_["convrbm__n_filters"] in (2, 4)
    with pytest.warns(deepbelief.OutOfRangeWarning):
        crbm.transform(X * 2)  # rows outside [0, 1] are clipped with a warning, never an error
    with pytest.raises(ValueError, match="has 63 features"):
        crbm.transform(X[:, :63])


def test_rows_pass_up_in_chunks_of_bounded_memory(digits, monkeypatch):
    """60,000 MNIST rows through 40 filters are 5.5 GB of detection maps at once: rows go up in chunks."""
    import deepbelief.estimators.conv as conv

    X = digits[0][:120]
    settings = dict(n_filters=(3, 2), n_iter=1, random_state=0, propagate="sample")
    whole = ConvDBN(**settings).fit(X)
    monkeypatch.setattr(conv, "CONV_CHUNK", 3 * 6 * 6 * 7)  # 7 rows at a time in the first layer
    assert conv.conv_chunk(whole.modules_[0]) == 7
    chunked = ConvDBN(**settings).fit(X)
    for m, n in zip(whole.modules_, chunked.modules_):
        for p, q in zip(m.parameters(), n.parameters()):
            torch.testing.assert_close(p, q)
    np.testing.assert_allclose(chunked.transform(X, layer="all"), whole.transform(X, layer="all"), atol=1e-6)
    mask = np.zeros_like(X, dtype=bool)
    mask[:, ::3] = True
    np.testing.assert_allclose(chunked.denoise(X, mask=mask), whole.denoise(X, mask=mask), atol=1e-6)
