import numpy as np
import pytest
import torch

from deepbelief import ConditionalDBN, ConditionalRBM, ModelFileError, load
from deepbelief.datasets import make_bouncing_balls, make_walking_motion
from deepbelief.estimators._sequence_layer import windows


@pytest.fixture(scope="module")
def motion():
    return make_walking_motion(6, 80, random_state=0)


@pytest.fixture(scope="module")
def fitted(motion):
    return ConditionalRBM(24, order=2, n_iter=3, random_state=0).fit(list(motion))


def test_windows_put_the_newest_history_frame_first():
    seq = np.arange(10.0).reshape(5, 2)
    rows = windows(seq, 2)
    np.testing.assert_array_equal(rows[0], [4, 5, 2, 3, 0, 1])  # [v_2, v_1, v_0]
    assert rows.shape == (3, 6)


def test_prediction_conditions_on_the_right_frames():
    """A Gaussian CRBM with W = 0 and A = linear extrapolation, v_t = 2 v_{t-1} - v_{t-2}, predicts exactly that:
    the history is fed newest frame first, and the scaling to model units and back is consistent."""
    rng = np.random.default_rng(0)
    seq = np.cumsum(rng.normal(size=(30, 3)), 0).astype(np.float32)
    crbm = ConditionalRBM(4, order=2, n_iter=0, random_state=0).fit(seq)
    m = crbm.module_
    with torch.no_grad():
        m.weight.zero_()
        m.autoregressive.copy_(torch.cat([2 * torch.eye(3), -torch.eye(3)], 1))
        # In model units x = (v - mean) / scale the extrapolation is the same map, x_t = 2 x_{t-1} - x_{t-2}.
        m.visible_bias.zero_()
    expected = 2 * seq[1:-1] - seq[:-2]
    np.testing.assert_allclose(crbm.predict(seq), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(crbm.predict_next(seq), 2 * seq[-1] - seq[-2], rtol=1e-4, atol=1e-4)


def test_crbm_learns_a_periodic_sequence():
    """Trained on a deterministic periodic sequence, the CRBM predicts the next frame almost exactly."""
    t = np.arange(400)
    seq = np.stack([np.sin(2 * np.pi * t / 12), np.cos(2 * np.pi * t / 12), np.sin(4 * np.pi * t / 12)], 1)
    crbm = ConditionalRBM(16, order=2, n_iter=60, learning_rate=1e-2, random_state=0).fit(seq[:300])
    error = ((crbm.predict(seq[300:]) - seq[302:]) ** 2).sum(1).mean()
    copy_error = ((seq[301:-1] - seq[302:]) ** 2).sum(1).mean()
    assert error < 1e-3 * (seq**2).sum(1).mean()
    assert error < 1e-3 * copy_error
    assert crbm.score(seq[300:]) == pytest.approx(-error, rel=1e-5)


def test_binary_crbm_predicts_a_moving_dot():
    frames = np.eye(6, dtype=np.float32)[np.arange(120) % 6]  # a dot stepping right and wrapping around
    crbm = ConditionalRBM(12, order=1, visible="bernoulli", n_iter=100, learning_rate=0.1, random_state=0)
    crbm.fit(frames)
    np.testing.assert_array_equal(crbm.predict(frames[:20]).round(), frames[1:20])
    generated = crbm.generate(frames[:1], n_steps=12, random_state=0)
    np.testing.assert_array_equal(generated.round(), frames[1:13])


def test_shapes_and_sequences_of_different_lengths(fitted, motion):
    seqs = [motion[0][:10], motion[1], motion[2][:3]]
    features = fitted.transform(seqs)
    assert [f.shape for f in features] == [(8, 24), (78, 24), (1, 24)]
    assert np.all((features[1] >= 0) & (features[1] <= 1))
    assert [p.shape for p in fitted.predict(seqs)] == [(8, 12), (78, 12), (1, 12)]
    assert fitted.predict_next(seqs).shape == (3, 12)
    assert fitted.predict_next(motion[0]).shape == (12,)
    assert fitted.generate(motion[0][:5], n_steps=4).shape == (4, 12)
    assert fitted.generate(motion[:, :2], n_steps=4).shape == (6, 4, 12)
    assert fitted.components_.shape == (24, 12)
    assert fitted.autoregressive_.shape == (12, 24) and fitted.past_hidden_.shape == (24, 24)
    assert len(fitted.history_) == fitted.n_iter_ == 3


def test_sampled_prediction_is_reproducible_and_near_the_mean_field(fitted, motion):
    a = fitted.predict(motion[0], n_samples=20, random_state=1)
    np.testing.assert_array_equal(a, fitted.predict(motion[0], n_samples=20, random_state=1))
    mean_field = fitted.predict(motion[0])
    assert np.abs(a - mean_field).mean() < 0.5 * np.abs(motion[0][2:] - mean_field).mean() + 0.05


def test_same_seed_same_model(motion):
    a = ConditionalRBM(8, order=2, n_iter=2, random_state=3).fit(list(motion))
    b = ConditionalRBM(8, order=2, n_iter=2, random_state=3).fit(list(motion))
    c = ConditionalRBM(8, order=2, n_iter=2, random_state=4).fit(list(motion))
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.generate(motion[0][:2], 5, random_state=0), b.generate(motion[0][:2], 5,
                                                                                            random_state=0))
    assert not np.array_equal(a.components_, c.components_)


def test_generation_stays_bounded_for_long_sequences(motion):
    crbm = ConditionalRBM(32, order=3, hidden="relu", n_iter=20, learning_rate=3e-3, random_state=0)
    crbm.fit(list(motion))
    generated = crbm.generate(motion[:, :3], n_steps=150, random_state=0)
    assert np.isfinite(generated).all()
    span = motion.max() - motion.min()
    assert generated.min() > motion.min() - span and generated.max() < motion.max() + span
    assert generated[:, -50:].std((0, 1)).mean() > 0.2 * motion.std((0, 1)).mean()  # still moving


def test_conditional_dbn(motion):
    cdbn = ConditionalDBN((16, 8), order=(2, 1), n_iter=2, random_state=0).fit(list(motion))
    assert cdbn.context_length == 3
    assert [layer.visible for layer in cdbn.layers_] == ["gaussian", "bernoulli"]
    assert cdbn.layers_[1].n_features_in_ == 16
    assert cdbn.predict(motion[0]).shape == (77, 12)
    assert cdbn.predict_next(list(motion)).shape == (6, 12)
    generated = cdbn.generate(motion[0][:3], n_steps=10, random_state=0)
    assert generated.shape == (10, 12) and np.isfinite(generated).all()
    np.testing.assert_array_equal(generated, cdbn.generate(motion[0][:3], n_steps=10, random_state=0))
    relu = ConditionalDBN((8, 4), order=1, hidden="relu", n_iter=1, random_state=0).fit(motion[0])
    assert [layer.visible for layer in relu.layers_] == ["gaussian", "relu"]


def test_conditional_dbn_down_pass_uses_each_layers_history(motion):
    """With one layer, the stack's prediction is the CRBM's own."""
    cdbn = ConditionalDBN((8,), order=2, n_iter=2, random_state=0).fit(list(motion))
    np.testing.assert_allclose(cdbn.predict(motion[0]), cdbn.layers_[0].predict(motion[0]), rtol=1e-6)


@pytest.mark.parametrize("model", [
    ConditionalRBM(8, order=2, n_iter=2, random_state=0),
    ConditionalRBM(8, order=1, visible="bernoulli", hidden="relu", n_iter=2, random_state=0),
    ConditionalDBN((8, 4), order=(2, 1), n_iter=2, random_state=0),
])
def test_save_load_round_trip(model, motion, tmp_path):
    data = motion if model.get_params().get("visible") != "bernoulli" else make_bouncing_balls(2, 20, size=6,
                                                                                                n_balls=1, radius=2,
                                                                                                random_state=0)
    model.fit(list(data))
    model.save(tmp_path / "m.dbn")
    loaded = load(tmp_path / "m.dbn")
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(data[0]), model.predict(data[0]))


@pytest.mark.parametrize("edit", [
    lambda s: s["params"].update(hidden_layer_sizes=[8, 4, 2]),
    lambda s: s["layers"][1].update(n_features_in=9),
    lambda s: s["layers"][0].update(data_mean=None),
])
def test_load_rejects_hostile_state(motion, tmp_path, edit):
    from tests.test_io import rewrite

    cdbn = ConditionalDBN((8, 4), order=1, n_iter=1, random_state=0).fit(motion[0])
    cdbn.save(tmp_path / "m.dbn")
    rewrite((tmp_path / "m.dbn").read_bytes(), tmp_path / "bad.dbn", edit_state=edit)
    with pytest.raises(ModelFileError, match="inconsistent ConditionalDBN"):
        load(tmp_path / "bad.dbn")


@pytest.mark.parametrize("X, match", [
    ([], "empty list"),
    ("walk.csv", "expects a sequence"),
    (np.zeros(5), "expects a sequence"),
    ([np.zeros((5, 12)), np.zeros((5, 3))], "sequence 1 has 3 features"),
    ([np.full((5, 12), np.nan)], "NaN"),
    ([np.zeros((2, 12))], "no sequence is longer than order=2"),
])
def test_bad_training_input(X, match):
    with pytest.raises(ValueError, match=match):
        ConditionalRBM(4, order=2, n_iter=1).fit(X)


def test_bad_input_after_fit(fitted, motion):
    with pytest.raises(ValueError, match="expecting 12 features"):
        fitted.predict(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="at least 3"):
        fitted.predict(motion[0][:2])
    with pytest.raises(ValueError, match="at least 2"):
        fitted.generate(motion[0][:1], n_steps=3)
    with pytest.raises(ValueError, match="n_steps"):
        fitted.generate(motion[0][:3], n_steps=0)
    with pytest.raises(ValueError, match="n_samples"):
        fitted.predict(motion[0], n_samples=-1)
    with pytest.raises(ValueError, match="visible='gaussian'"):
        ConditionalRBM(4, visible="bernoulli", n_iter=1).fit(motion[0])
    with pytest.raises(ValueError, match="order"):
        ConditionalRBM(4, order=0).fit(motion[0])
    with pytest.raises(ValueError, match="sum\\(order\\) = 120"):
        ConditionalDBN((4, 4), order=(60, 60), n_iter=1).fit(list(motion))


def test_unfitted_model_raises(motion):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ConditionalRBM().predict(motion[0])
    with pytest.raises(NotFittedError):
        ConditionalDBN().generate(motion[0], 3)


def test_every_cd_option_but_persistent_reaches_every_layer_of_the_sequence_models(motion):
    """The option walk of tests/estimators/test_nested_pretraining.py, for the sequence models: each option is a
    parameter of both and reaches each layer; persistent chains (and the persistent samplers) are the CD options a
    conditional RBM lacks."""
    from deepbelief.estimators._cd_parameters import CD_PARAMETERS, SEQUENCE_CD_PARAMETERS
    from tests.estimators.test_nested_pretraining import CHANGED, WHERE_THE_FIT_RUNS
    assert set(CD_PARAMETERS) - set(SEQUENCE_CD_PARAMETERS) == {"persistent", "sampler", "n_temperatures"}
    for option in SEQUENCE_CD_PARAMETERS:
        if option in WHERE_THE_FIT_RUNS:
            continue
        value = CHANGED[option]
        assert ConditionalRBM().get_params()[option] != value
        cdbn = ConditionalDBN((8, 4), order=2, n_iter=1, random_state=0, **{option: value}).fit(list(motion))
        assert all(layer.get_params()[option] == value for layer in cdbn.layers_), option


@pytest.mark.parametrize("option", [dict(lr_schedule="linear"), dict(sparsity_cost=0.1), dict(centering=True),
                                    dict(validation_fraction=0.2), dict(precision="bfloat16")])
def test_the_new_conditional_options_change_the_training(motion, option):
    base = ConditionalRBM(8, order=2, n_iter=3, random_state=0).fit(list(motion))
    changed = ConditionalRBM(8, order=2, n_iter=3, random_state=0, **option).fit(list(motion))
    assert not np.array_equal(base.components_, changed.components_)
    assert np.isfinite(changed.components_).all()
    if "validation_fraction" in option:
        assert {"free_energy_train", "free_energy_valid", "free_energy_gap"} <= set(changed.history_[-1])


def test_a_too_small_validation_fraction_of_frames_is_refused(motion):
    with pytest.raises(ValueError, match="validation_fraction=0.0001 of .* rows leaves 0 rows for validation"):
        ConditionalRBM(8, order=2, n_iter=1, validation_fraction=1e-4).fit(motion[0][:20])


def test_a_conditional_layer_resumed_from_its_state_trains_as_if_uninterrupted(motion):
    """The greedy stack's layer protocol: a layer's state_dict after 2 of 4 epochs, loaded into a fresh layer,
    continues to the parameters, monitors and generators of the uninterrupted 4 epochs."""
    from deepbelief.estimators._sequence_layer import ConditionalLayer, SequenceRows
    rows = SequenceRows(list(motion))

    def layer(n_iter):
        crbm = ConditionalRBM(8, order=2, n_iter=n_iter, momentum_switch=1, sparsity_cost=0.1, centering=True,
                              random_state=0)
        crbm._validate_params()
        lay = ConditionalLayer(crbm)
        lay.begin(rows.width)
        return lay

    whole, part = layer(4), layer(2)
    whole.fit(rows)
    part.fit(rows)
    state = part.state_dict()
    resumed = layer(4)
    resumed.fit(rows, restore=state)
    np.testing.assert_array_equal(resumed.crbm.components_, whole.crbm.components_)
    np.testing.assert_array_equal(resumed.crbm.autoregressive_, whole.crbm.autoregressive_)
    assert resumed.crbm.history_ == whole.crbm.history_ and resumed.crbm.n_iter_ == 4
    assert resumed.crbm._inference_generator.get_state().equal(whole.crbm._inference_generator.get_state())


def test_a_stack_layer_with_a_bad_per_layer_setting_is_refused(motion):
    with pytest.raises(ValueError, match="learning_rate"):
        ConditionalDBN((8, 4), order=2, n_iter=1, learning_rate=[0.01, -1.0]).fit(list(motion))
