"""DBNClassifier / DBNRegressor(pretraining=DBN(...)): every CD option of the DBN reaches the pretraining."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import deepbelief as db
from deepbelief.estimators._cd_parameters import CD_PARAMETERS

# A valid value other than the default for every CD option; an option added to CD_PARAMETER_CONSTRAINTS without a
# value here fails test_every_cd_option_reaches_the_pretrained_layers.
CHANGED = {"lr_schedule": "linear", "batch_size": 7, "k": 2, "persistent": True, "sampler": "fast",
           "n_temperatures": 3, "momentum": 0.3,
           "final_momentum": 0.7, "momentum_switch": 2, "weight_decay": 1e-3, "sparsity_target": 0.2,
           "sparsity_cost": 0.01, "centering": True, "validation_fraction": 0.2, "shuffle": False,
           "precision": "bfloat16"}
WHERE_THE_FIT_RUNS = ("device", "random_state", "verbose")  # set by the outer estimator


@pytest.mark.parametrize("cls", [db.DBNClassifier, db.DBNRegressor])
@pytest.mark.parametrize("option", [o for o in CD_PARAMETERS if o not in WHERE_THE_FIT_RUNS])
def test_every_cd_option_reaches_the_pretrained_layers(digits, cls, option):
    X, y = digits
    X, y = X[:200], (y[:200] if cls is db.DBNClassifier else X[:200].sum(1))
    value = CHANGED[option]
    assert db.DBN().get_params()[option] != value
    activation = {"activation": "sigmoid"}
    model = cls(pretraining=db.DBN((8, 4), n_iter=1, **{option: value}), max_iter=1, random_state=0,
                **activation).fit(X, y)
    assert model.dbn_.get_params()[option] == value
    assert all(rbm.get_params()[option] == value for rbm in model.dbn_.rbms_)


def test_nested_dbn_equals_the_flat_parameters(digits):
    """The default pretraining is a DBN built from the flat parameters; the same DBN given nested trains the same
    network bit for bit."""
    X, y = digits
    flat = db.DBNClassifier((16, 8), n_iter=2, k=2, activation="sigmoid", max_iter=2, random_state=0).fit(X, y)
    nested = db.DBNClassifier(activation="sigmoid", max_iter=2, random_state=0,
                              pretraining=db.DBN((16, 8), n_iter=2, k=2, batch_size=64)).fit(X, y)
    np.testing.assert_array_equal(flat.predict_proba(X), nested.predict_proba(X))
    for a, b in zip(flat.network_.parameters(), nested.network_.parameters()):
        assert a.equal(b)


def test_the_nested_dbn_sets_the_network_shape_and_is_not_fitted_itself(digits):
    X, y = digits
    template = db.DBN((12, 6), n_iter=1, centering=True)
    clf = db.DBNClassifier(activation="sigmoid", pretraining=template, max_iter=1, random_state=0).fit(X, y)
    assert [m.out_features for m in clf.to_torch() if hasattr(m, "out_features")] == [12, 6, 10]
    assert not hasattr(template, "rbms_")  # cloned, as scikit-learn's meta-estimators do
    assert clf.dbn_.centering and clf.dbn_.rbms_[1].centering


def test_nested_parameters_work_with_set_params_clone_and_files(digits, tmp_path):
    X, y = digits
    clf = db.DBNClassifier(activation="sigmoid", pretraining=db.DBN((8,), n_iter=1), max_iter=1, random_state=0)
    clf.set_params(pretraining__weight_decay=1e-3)
    assert clone(clf).get_params()["pretraining__weight_decay"] == 1e-3
    clf.fit(X, y)
    clf.save(tmp_path / "m.dbn")
    loaded = db.load(tmp_path / "m.dbn")
    assert isinstance(loaded.pretraining, db.DBN) and loaded.pretraining.weight_decay == 1e-3
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_a_pipeline_cross_validates_with_a_nested_pretraining(digits):
    X, y = digits  # already in [0, 1]: a MinMaxScaler's held-out folds leave it (issue 39)
    pipe = make_pipeline(FunctionTransformer(), db.DBNClassifier(
        activation="sigmoid", pretraining=db.DBN((32,), n_iter=5, centering=True), max_iter=50, random_state=0))
    scores = cross_val_score(pipe, X[:600], y[:600], cv=3)
    assert scores.mean() > 0.8


@pytest.mark.parametrize("params, message", [
    (dict(n_iter=3), "n_iter=3.*set n_iter= on the nested DBN"),
    (dict(learning_rate_rbm=0.01), "set learning_rate= on the nested DBN"),
    (dict(hidden_layer_sizes=(5,)), "differs from the nested DBN's"),
    (dict(pretrain=False), "drop one of them"),
    (dict(activation="relu"), "use DBN\\(hidden='relu'"),
])
def test_conflicting_settings_are_refused_with_the_remedy(digits, params, message):
    X, y = digits
    clf = db.DBNClassifier(pretraining=db.DBN((8,), n_iter=1), max_iter=1, **{"activation": "sigmoid", **params})
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_the_nested_dbn_takes_the_estimators_visible_units_unless_it_sets_others(digits):
    X, y = digits
    clf = db.DBNClassifier(visible="gaussian", activation="sigmoid", pretraining=db.DBN((8,), n_iter=1), max_iter=1,
                           random_state=0).fit(X, y)
    assert clf.dbn_.visible == "gaussian" and clf.dbn_.rbms_[0].visible == "gaussian"
    with pytest.raises(ValueError, match="visible='gaussian'.*set both"):
        db.DBNClassifier(visible="gaussian", activation="sigmoid", max_iter=1,
                         pretraining=db.DBN((8,), n_iter=1, visible="bernoulli")).fit(X, y)


def test_only_an_unlabelled_dbn_is_a_pretraining(digits):
    X, y = digits
    with pytest.raises(ValueError, match="takes an unfitted DBN without label units"):
        db.DBNClassifier(activation="sigmoid", pretraining=db.DBN((8,), n_labels=10)).fit(X, y)
    with pytest.raises(ValueError, match="takes an unfitted DBN"):
        db.DBNClassifier(activation="sigmoid", pretraining=db.RBM(8)).fit(X, y)


# DeepAutoencoder(pretraining=DBN(...)) ------------------------------------------------------------------------
@pytest.mark.parametrize("option", [o for o in CD_PARAMETERS if o not in WHERE_THE_FIT_RUNS])
def test_every_cd_option_reaches_the_autoencoders_rbms(digits, option):
    X, _ = digits
    value = CHANGED[option]
    ae = db.DeepAutoencoder(pretraining=db.DBN((8, 4), n_iter=1, **{option: value}), max_iter=1,
                            random_state=0).fit(X[:200])
    assert all(rbm.get_params()[option] == value for rbm in ae.rbms_)
    assert [rbm.hidden for rbm in ae.rbms_] == ["bernoulli", "gaussian"]  # the code layer stays linear


@pytest.mark.parametrize("scale", [16, 1])  # Bernoulli and (standardised) Gaussian visible units
def test_the_autoencoders_nested_dbn_equals_the_flat_parameters(digits, scale):
    X, _ = digits
    X = X[:300] * 16 / scale
    flat = db.DeepAutoencoder((16, 4), n_iter=2, k=2, batch_size=50, max_iter=2, random_state=0).fit(X)
    nested = db.DeepAutoencoder(pretraining=db.DBN((16, 4), n_iter=2, k=2, batch_size=50), batch_size=50,
                                max_iter=2, random_state=0).fit(X)
    assert flat.visible_ == nested.visible_ == ("bernoulli" if scale == 16 else "gaussian")
    for a, b in zip([*flat.encoder_.parameters(), *flat.decoder_.parameters()],
                    [*nested.encoder_.parameters(), *nested.decoder_.parameters()]):
        assert a.equal(b)
    # 'auto' rates are the paper's in both spellings: 0.001 next to Gaussian units, 0.1 between logistic ones
    expected = [0.1, 0.001] if scale == 16 else [0.001, 0.001]
    assert [rbm.learning_rate for rbm in nested.rbms_] == expected


def test_the_autoencoder_takes_the_nested_sizes_and_saves_it(digits, tmp_path):
    X, _ = digits
    ae = db.DeepAutoencoder(pretraining=db.DBN((12, 3), n_iter=1, weight_decay=1e-3), max_iter=1,
                            random_state=0).fit(X)
    assert ae.transform(X).shape == (len(X), 3)
    ae.save(tmp_path / "ae.dbn")
    loaded = db.load(tmp_path / "ae.dbn")
    assert isinstance(loaded.pretraining, db.DBN) and loaded.pretraining.weight_decay == 1e-3
    np.testing.assert_array_equal(loaded.transform(X), ae.transform(X))


@pytest.mark.parametrize("params, message", [
    (dict(n_iter=3), "set n_iter= on the nested DBN"),
    (dict(k=2), "set k= on the nested DBN"),
    (dict(hidden_layer_sizes=(5, 2)), "differs from the nested DBN's"),
    (dict(pretrain=False), "drop one of them"),
    (dict(pretraining=db.DBN((8,), hidden="relu")), "unrolls logistic hidden layers"),
    (dict(pretraining=db.DBN((8,), n_labels=10)), "without label units"),
])
def test_the_autoencoder_refuses_conflicting_pretraining(digits, params, message):
    X, _ = digits
    ae = db.DeepAutoencoder(**{"pretraining": db.DBN((8,), n_iter=1), "max_iter": 1, **params})
    with pytest.raises(ValueError, match=message):
        ae.fit(X)


def test_every_field_of_the_cd_trainers_config_is_an_estimator_parameter():
    """A CD option added to CDConfig without a parameter in _cd_parameters would reach no estimator."""
    from dataclasses import fields

    from deepbelief.estimators._cd_parameters import _CONFIG_NAMES
    from deepbelief.training import CDConfig
    given_per_fit = {"learning_rate", "n_epochs"}  # the resolved rate, and n_iter for the schedule
    internal = {"sparsity_decay"}  # the running average's constant (Hinton's guide), not a hyperparameter
    exposed = {_CONFIG_NAMES.get(name, name) for name in CD_PARAMETERS}
    # RBM and DBN's own (set by RBM._cd_config; a nested DBN carries it as a DBN parameter)
    dense_only = {"hidden_bias_decrement"}
    assert all(name in cls().get_params() for name in dense_only for cls in (db.RBM, db.DBN))
    assert {f.name for f in fields(CDConfig)} - given_per_fit - internal - dense_only <= exposed
