"""The DBM estimator: training raises the exact likelihood of tiny models, estimates agree, the scikit-learn
contract, sampling, denoising, model files."""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

import deepbelief
from deepbelief import DBM, evaluate


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def tiny_data(n=600, seed=0):
    """Binary rows of 6 units from a mixture of three prototypes with 10% flips."""
    rng = np.random.default_rng(seed)
    prototypes = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 0], [1, 0, 0, 0, 1, 1]], float)
    rows = prototypes[rng.integers(0, 3, n)]
    flip = rng.random(rows.shape) < 0.1
    return np.abs(rows - flip).astype(np.float32)


@pytest.mark.slow
def test_joint_training_raises_the_exact_likelihood_and_the_estimates_agree():
    X = tiny_data()
    params = dict(hidden_layer_sizes=(5, 4), n_iter=20, batch_size=20, n_particles=50, random_state=0)
    pretrained = DBM(max_iter=0, **params).fit(X)
    joint = DBM(max_iter=30, joint_learning_rate=0.02, **params).fit(X)
    exact = [evaluate.log_likelihood(m, X).mean() for m in (pretrained, joint)]
    assert exact[1] > exact[0] + 0.05, exact
    log_z = evaluate.log_partition(joint)
    ais = evaluate.ais(joint, n_runs=200, betas=np.linspace(0, 1, 3001), random_state=0)
    assert abs(ais.log_z - log_z) < 0.1 and ais.lower <= ais.upper
    bound = evaluate.dbm_lower_bound(joint, X)
    assert (bound <= evaluate.log_likelihood(joint, X) + 1e-4).all()
    np.testing.assert_allclose(bound, joint.score_samples(X) - log_z)
    # the uniform model over 6 bits has -6 log 2 = -4.16 nats; the prototypes are learnt
    assert exact[1] > -3.9


def test_fit_is_reproducible_and_seeds_differ(digits):
    X = digits[0][:300]
    params = dict(hidden_layer_sizes=(16, 8), n_iter=2, max_iter=2, n_particles=20)
    a, b = (DBM(random_state=3, **params).fit(X) for _ in range(2))
    c = DBM(random_state=4, **params).fit(X)
    for wa, wb, wc in zip(a.module_.weights, b.module_.weights, c.module_.weights):
        torch.testing.assert_close(wa, wb, rtol=0, atol=0)
        assert not torch.equal(wa, wc)
    np.testing.assert_array_equal(a.generate(5, random_state=1), b.generate(5, random_state=1))


@pytest.mark.slow
def test_transform_layers_generation_and_pipeline(digits):
    X, y = digits
    dbm = DBM(hidden_layer_sizes=(64, 32), n_iter=10, max_iter=3, random_state=0)
    pipe = make_pipeline(dbm, LogisticRegression(max_iter=500))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.8, scores
    dbm.fit(X)
    assert dbm.transform(X[:7], layer=0).shape == (7, 64) and dbm.transform(X[:7]).shape == (7, 32)
    assert len(dbm.pretraining_history_) == 2 and len(dbm.history_) == 3 and dbm.n_iter_ == 3
    np.testing.assert_array_equal(dbm.components_, dbm.module_.weights[0].numpy())
    from deepbelief.plot import plot_filters, plot_history
    assert plot_filters(dbm, (8, 8)) is not None and plot_history(dbm) is not None
    with pytest.raises(ValueError, match="layer=2 is not a hidden layer"):
        dbm.transform(X, layer=2)
    samples = dbm.generate(10, n_gibbs=5, burn_in=20, random_state=0)
    assert samples.shape == (10, 64) and set(np.unique(samples)) <= {0.0, 1.0}
    more = dbm.generate(10, n_gibbs=5)  # the chains continue
    assert more.shape == (10, 64)
    probabilities = dbm.generate(3, init=X[:3], n_gibbs=1, burn_in=0, random_state=0, return_probabilities=True)
    assert ((probabilities >= 0) & (probabilities <= 1)).all() and not np.isin(probabilities, [0, 1]).all()
    with pytest.raises(ValueError, match="init has 3 rows but n_samples=4"):
        dbm.generate(4, init=X[:3])


@pytest.mark.slow
def test_denoise_fills_unknown_pixels_better_than_the_mean(digits):
    X = digits[0]
    dbm = DBM(hidden_layer_sizes=(100, 50), n_iter=10, max_iter=5, random_state=0).fit(X[:1500])
    test = X[1500:1700]
    rng = np.random.default_rng(0)
    mask = rng.random(test.shape) < 0.3
    filled = dbm.denoise(test, mask=mask, n_gibbs=40, random_state=0)
    np.testing.assert_array_equal(filled[~mask], test[~mask])
    mean_fill = np.broadcast_to(X[:1500].mean(0), test.shape)
    error = ((filled - test)[mask] ** 2).mean()
    assert error < 0.7 * ((mean_fill - test)[mask] ** 2).mean()
    assert dbm.reconstruct(test).shape == test.shape


def test_gaussian_visible_units_for_real_valued_data():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(300, 5)) * [1, 2, 3, 4, 5] + 10).astype(np.float32)
    dbm = DBM(hidden_layer_sizes=(6, 4), n_iter=3, max_iter=3, n_particles=20, random_state=0).fit(X)
    assert dbm.visible_ == "gaussian" and dbm.data_mean_ is not None
    assert np.isfinite(dbm.score_samples(X)).all()
    assert abs(dbm.reconstruct(X).mean() - 10) < 2  # in the data's units
    assert abs(evaluate.ais(dbm, n_runs=100, betas=np.linspace(0, 1, 2001), random_state=0).log_z
               - evaluate.log_partition(dbm)) < 0.1


def test_centred_training_and_three_layers(digits):
    X = digits[0][:400]
    dbm = DBM(hidden_layer_sizes=(20, 10, 5), n_iter=2, max_iter=3, centering=True, n_particles=20,
              random_state=0).fit(X)
    assert [w.shape for w in dbm.module_.weights] == [(20, 64), (10, 20), (5, 10)]
    assert all(np.isfinite(h["reconstruction_error"]) for h in dbm.history_)
    plain = DBM(hidden_layer_sizes=(20, 10, 5), n_iter=2, max_iter=3, n_particles=20, random_state=0).fit(X)
    assert not torch.equal(plain.module_.weights[0], dbm.module_.weights[0])


def test_without_pretraining_the_weights_start_small(digits):
    dbm = DBM(hidden_layer_sizes=(8, 4), n_iter=0, max_iter=1, random_state=0).fit(digits[0][:100])
    assert dbm.pretraining_history_ == [] and dbm.n_iter_ == 1


def test_save_and_load_round_trip(digits, tmp_path):
    X = digits[0][:300]
    dbm = DBM(hidden_layer_sizes=(16, 8), n_iter=2, max_iter=2, n_particles=20, random_state=0).fit(X)
    dbm.save(tmp_path / "dbm.dbn")
    loaded = deepbelief.load(tmp_path / "dbm.dbn")
    assert type(loaded) is DBM and loaded.get_params() == dbm.get_params()
    np.testing.assert_array_equal(loaded.transform(X), dbm.transform(X))
    np.testing.assert_array_equal(loaded.generate(3, random_state=2), dbm.generate(3, random_state=2))
    assert loaded.history_ == dbm.history_ and loaded.pretraining_history_ == dbm.pretraining_history_


def test_bad_parameters_are_named(digits):
    X = digits[0][:50]
    with pytest.raises(ValueError, match="'visible' parameter of DBM"):
        DBM(visible="relu").fit(X)
    with pytest.raises(ValueError, match="'damping' parameter of DBM"):
        DBM(damping=1.0).fit(X)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        DBM(hidden_layer_sizes=(4,), n_iter=1, max_iter=1).fit(X).generate(0)


@pytest.mark.parametrize("phase, at", [("pretraining", 2 * 6 + 6 + 3), ("joint", 6 * 2 + 2)])
def test_an_interrupted_fit_resumes_to_the_same_model(phase, at, digits, tmp_path, monkeypatch):
    """Killed in the second RBM's pretraining or in the third joint epoch (6 batches per epoch), the fit resumes
    from its checkpoint to the parameters, chains and monitors of an uninterrupted one."""
    from deepbelief import checkpoint
    from deepbelief.training import CDTrainer, DBMTrainer

    X = digits[0][:300]
    settings = dict(hidden_layer_sizes=(12, 6), n_iter=2, max_iter=4, batch_size=50, n_particles=10, centering=True,
                    random_state=0)
    reference = DBM(**settings).fit(X)
    trainer = CDTrainer if phase == "pretraining" else DBMTrainer
    real, steps = trainer.step, []

    def step(self, *args, **kwargs):
        steps.append(1)
        if len(steps) == at:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(trainer, "step", step)
    with pytest.raises(KeyboardInterrupt):
        DBM(checkpoint_dir=tmp_path, **settings).fit(X)
    monkeypatch.undo()
    assert (tmp_path / "joint.ckpt").exists() == (phase == "joint")
    resumed = DBM(checkpoint_dir=tmp_path, **settings).fit(X, resume=True)
    for a, b in zip(resumed.module_.parameters(), reference.module_.parameters()):
        assert torch.equal(a, b)
    assert resumed.history_ == reference.history_ and resumed.pretraining_history_ == reference.pretraining_history_
    np.testing.assert_array_equal(resumed.generate(3), reference.generate(3))
    with pytest.raises(ValueError, match="hyperparameters"):
        DBM(checkpoint_dir=tmp_path, **{**settings, "n_gibbs": 2}).fit(X, resume=True)
    assert checkpoint.read(tmp_path / "joint.ckpt")[1]["n_iter"] == 4


def test_dbm_linears_unroll_the_paper_network():
    from deepbelief.core.dbm import DBMModule
    from deepbelief.core.nets import MeanFieldInput, dbm_linears

    g = torch.Generator().manual_seed(0)
    dbm = DBMModule((5, 4, 3, 2))
    with torch.no_grad():
        for p in dbm.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    first, middle, top = dbm_linears(dbm)
    torch.testing.assert_close(first.weight, torch.cat([dbm.weights[0], dbm.weights[1].t()], 1))
    torch.testing.assert_close(middle.weight, 2 * dbm.weights[1])
    torch.testing.assert_close(top.weight, dbm.weights[2])
    torch.testing.assert_close(top.bias, dbm.biases[3])
    v = torch.rand(6, 5, generator=g)
    augmented = MeanFieldInput(dbm, 7)(v)
    torch.testing.assert_close(augmented, torch.cat([v, dbm.mean_field(v, 7)[2]], 1))
    assert not augmented.requires_grad


@pytest.mark.slow
def test_a_classifier_fine_tuned_from_a_dbm(digits, tmp_path):
    from deepbelief import DBNClassifier, DBNRegressor
    from deepbelief.core.nets import MeanFieldInput

    X, y = digits
    dbm = DBM(hidden_layer_sizes=(64, 32), n_iter=5, max_iter=2, random_state=0)
    clf = DBNClassifier(pretraining=dbm, max_iter=100, random_state=0, checkpoint_dir=tmp_path)
    clf.fit(X[:1200], y[:1200])
    assert isinstance(clf.dbn_, DBM) and isinstance(clf.network_[0], MeanFieldInput)
    linears = [m for m in clf.network_ if isinstance(m, torch.nn.Linear)]
    assert linears[0].in_features == 64 + 32
    assert clf.score(X[1200:], y[1200:]) > 0.8  # 0.61 for a sigmoid DBN network at 30 epochs, this one 0.74
    logits = clf.to_torch()(torch.as_tensor(X[1200:1210]))
    np.testing.assert_allclose(torch.softmax(logits, 1).detach().numpy(), clf.predict_proba(X[1200:1210]),
                               rtol=1e-5, atol=1e-6)
    clf.save(tmp_path / "clf.dbn")
    loaded = deepbelief.load(tmp_path / "clf.dbn")
    assert isinstance(loaded.dbn_, DBM)
    np.testing.assert_array_equal(loaded.predict_proba(X[1200:]), clf.predict_proba(X[1200:]))
    resumed = DBNClassifier(pretraining=dbm, max_iter=100, random_state=0, checkpoint_dir=tmp_path)
    resumed.fit(X[:1200], y[:1200], resume=True)  # the finished checkpoint holds the DBM
    np.testing.assert_array_equal(resumed.predict_proba(X[1200:]), clf.predict_proba(X[1200:]))
    assert not any(isinstance(m, torch.nn.ReLU) for m in clf.network_)  # the DBM's sigmoid units
    reg = DBNRegressor(pretraining=DBM(hidden_layer_sizes=(16, 8), n_iter=2, max_iter=1), max_iter=5).fit(X[:300],
                                                                                                       y[:300] / 9)
    assert reg.predict(X[:5]).shape == (5,)


# label DBMs (n_labels) -------------------------------------------------------------------------------------------------
LABEL_SETTINGS = dict(hidden_layer_sizes=(64, 32), n_labels=10, n_iter=10, max_iter=10, random_state=0)


def test_a_label_dbm_classifies_generates_each_class_and_takes_unlabelled_rows(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    dbm = DBM(**LABEL_SETTINGS).fit(X[:1200], names[:1200])
    assert dbm.classes_.tolist() == sorted(set(names)) and dbm.module_.n_hidden_layers == 2
    proba = dbm.predict_proba(X[1200:])
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(dbm.predict(X[1200:]), dbm.classes_[proba.argmax(1)])
    accuracy = dbm.score(X[1200:], names[1200:])
    pretrained = DBM(**{**LABEL_SETTINGS, "max_iter": 0}).fit(X[:1200], names[:1200])
    assert accuracy > 0.8 and accuracy > pretrained.score(X[1200:], names[1200:]) + 0.03  # 0.851 vs 0.762
    assert dbm.transform(X[:5]).shape == (5, 32) and np.isfinite(dbm.score_samples(X[:5])).all()
    # images generated with the label clamped look like their class to a classifier of the real digits
    judge = LogisticRegression(max_iter=2000).fit(X, names)
    wanted = dbm.classes_[np.arange(200) % 10]
    images = dbm.generate(200, label=wanted, burn_in=500, random_state=0, return_probabilities=True)
    assert np.mean(judge.predict(images) == wanted) > 0.6  # 0.75; chance 0.1
    half = y[:1200].copy()
    half[::2] = -1  # unlabelled rows: the label inferred in the joint training
    semi = DBM(**LABEL_SETTINGS).fit(X[:1200], half)
    assert semi.score(X[1200:], y[1200:]) > 0.7  # 0.784


def test_a_one_layer_label_dbm_gives_the_classification_rbm_posterior_and_sound_estimates():
    X = tiny_data(300)
    y = (X[:, 0] + X[:, 4] > 1).astype(int) + (X[:, 2] > 0)
    dbm = DBM(hidden_layer_sizes=(4,), n_labels=3, n_iter=5, max_iter=5, batch_size=20, n_particles=20,
              random_state=0).fit(X, y)
    W, U = (w.double().numpy() for w in dbm.module_.weights)
    a, b, c = (x.double().numpy() for x in dbm.module_.biases)
    pre = (b + X @ W.T)[:, None, :] + U[None]  # (n, labels, hidden): F(x, y) = -a.x - c_y - sum softplus
    neg_free = (X @ a)[:, None] + c[None] + np.logaddexp(0, pre).sum(-1)
    exact = np.exp(neg_free - neg_free.max(1, keepdims=True))
    np.testing.assert_allclose(dbm.predict_proba(X), exact / exact.sum(1, keepdims=True), rtol=1e-4, atol=1e-6)
    log_z = evaluate.log_partition(dbm)
    assert abs(evaluate.ais(dbm, n_runs=200, betas=np.linspace(0, 1, 2001), random_state=0).log_z - log_z) < 0.1
    # with the label summed out the bound lies below the exact log-likelihood
    assert (evaluate.dbm_lower_bound(dbm, X) <= evaluate.log_likelihood(dbm, X) + 1e-4).all()


def test_a_label_dbm_saves_loads_and_resumes_to_the_same_model(digits, tmp_path, monkeypatch):
    from deepbelief.training import DBMTrainer

    X, y = digits[0][:300], digits[1][:300]
    settings = dict(hidden_layer_sizes=(12, 6), n_labels=10, n_iter=2, max_iter=3, batch_size=50, n_particles=10,
                    random_state=0)
    reference = DBM(**settings).fit(X, y)
    reference.save(tmp_path / "labels.dbn")
    loaded = deepbelief.load(tmp_path / "labels.dbn")
    np.testing.assert_array_equal(loaded.classes_, reference.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_array_equal(loaded.generate(4, label=7, random_state=1),
                                  reference.generate(4, label=7, random_state=1))
    real, steps = DBMTrainer.step, []

    def step(self, *args, **kwargs):
        steps.append(1)
        if len(steps) == 8:  # in the second joint epoch (6 batches each)
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DBMTrainer, "step", step)
    with pytest.raises(KeyboardInterrupt):
        DBM(checkpoint_dir=tmp_path / "run", **settings).fit(X, y)
    monkeypatch.undo()
    resumed = DBM(checkpoint_dir=tmp_path / "run", **settings).fit(X, y, resume=True)
    for p, q in zip(resumed.module_.parameters(), reference.module_.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="other data; refusing to resume"):
        DBM(checkpoint_dir=tmp_path / "run", **settings).fit(X, (y + 1) % 10, resume=True)


def test_label_dbm_misuse_is_named(digits):
    X, y = digits[0][:100], digits[1][:100]
    with pytest.raises(ValueError, match="n_labels=10 needs labels: call fit\\(X, y\\)"):
        DBM(hidden_layer_sizes=(4,), n_labels=10, n_iter=1, max_iter=1).fit(X)
    with pytest.raises(ValueError, match="n_labels=3 but the labelled rows of y have 10 classes"):
        DBM(hidden_layer_sizes=(4,), n_labels=3, n_iter=1, max_iter=1).fit(X, y)
    plain = DBM(hidden_layer_sizes=(4,), n_iter=1, max_iter=1).fit(X)
    with pytest.raises(ValueError, match="label= needs label units: fit the DBM with n_labels"):
        plain.generate(2, label=1)
    assert not hasattr(plain, "predict_proba")
    labelled = DBM(hidden_layer_sizes=(4,), n_labels=10, n_iter=1, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="label 11 is not one of the classes"):
        labelled.generate(2, label=11)
    with pytest.raises(ValueError, match="n_labels"):
        DBM(n_labels=1).fit(X, y)
