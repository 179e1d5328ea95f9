"""Public callbacks: every epoch of every stage reaches them, they can end a stage, they never change what is
trained, and the shipped loggers continue a resumed fit's log without duplicate steps."""
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score

from deepbelief import (DBM, DBN, RBM, AnomalyDetector, ConditionalRBM, ConvRBM, DBNClassifier, DeepAutoencoder,
                        load)
from deepbelief.callbacks import Callback, CSVLogger, TensorBoardLogger


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32)[:400], y[:400]


class Record(Callback):
    def __init__(self, stop=None):
        self.stop, self.seen, self.fits = stop, [], []

    def on_fit_begin(self, estimator):
        self.fits.append(("begin", type(estimator).__name__))

    def on_epoch_end(self, epoch):
        self.seen.append(epoch)
        return self.stop is not None and self.stop(epoch)

    def on_fit_end(self, estimator):
        self.fits.append(("end", type(estimator).__name__))


def stages(seen):
    return [(e.stage, e.layer, e.epoch) for e in seen]


def test_every_epoch_of_every_stage_reaches_the_callbacks_with_its_monitors(digits):
    X, y = digits
    record, plain = Record(), []
    clf = DBNClassifier((16, 8), n_iter=(2, 3), max_iter=4, random_state=0,
                        callbacks=[record, plain.append]).fit(X, y)
    expected = ([("pretraining", 0, e) for e in range(2)] + [("pretraining", 1, e) for e in range(3)]
                + [("fine-tuning", None, e) for e in range(4)])
    assert stages(record.seen) == stages(plain) == expected
    assert record.fits == [("begin", "DBNClassifier"), ("end", "DBNClassifier")]
    assert [e.metrics["loss"] for e in record.seen[5:]] == clf.loss_curve_
    layer = [e.metrics for e in record.seen if e.layer == 1]
    assert layer == clf.dbn_.rbms_[1].history_
    assert {e.n_epochs for e in record.seen if e.layer == 1} == {3} and record.seen[-1].n_epochs == 4
    assert all(e.estimator is clf for e in record.seen)
    assert isinstance(record.seen[0].model, torch.nn.Module) and record.seen[0].model.weight.shape == (16, 64)
    assert record.seen[0].name == "pretraining-layer1"
    cd = []  # CD layers hand over their training rows too (the rectified rule above does not)
    DBN((16, 8), n_iter=1, random_state=0, callbacks=[cd.append]).fit(X)
    assert cd[0].rows.shape == (400, 64) and cd[1].rows.shape == (400, 16) and cd[1].model.weight.shape == (8, 16)


@pytest.mark.parametrize("make, expected", [
    (lambda cb: RBM(n_components=8, n_iter=2, random_state=0, callbacks=cb), [("training", 0, 0), ("training", 0, 1)]),
    (lambda cb: DBM((8, 4), n_iter=1, max_iter=2, n_particles=10, random_state=0, callbacks=cb),
     [("pretraining", 0, 0), ("pretraining", 1, 0), ("joint training", None, 0), ("joint training", None, 1)]),
    (lambda cb: DeepAutoencoder((8, 2), n_iter=1, max_iter=2, random_state=0, callbacks=cb),
     [("pretraining", 0, 0), ("pretraining", 1, 0), ("fine-tuning", None, 0), ("fine-tuning", None, 1)]),
    (lambda cb: AnomalyDetector(RBM(n_components=8, n_iter=2, random_state=0), callbacks=cb),
     [("pretraining", 0, 0), ("pretraining", 0, 1)]),
    (lambda cb: ConvRBM(4, filter_size=3, pool_size=2, image_shape=(8, 8), n_iter=2, random_state=0, callbacks=cb),
     [("pretraining", 0, 0), ("pretraining", 0, 1)]),
])
def test_each_estimator_reports_its_stages(digits, make, expected):
    X, y = digits
    record = Record()
    est = make([record])
    est.fit(X, y) if isinstance(est, DBN) else est.fit(X)
    assert stages(record.seen) == expected


def test_up_down_reports_to_the_dbns_callbacks(digits):
    X, y = digits
    record = Record()
    dbn = DBN((8,), n_labels=10, n_iter=1, random_state=0, callbacks=[record]).fit(X, y)
    dbn.fine_tune_up_down(X, y, n_iter=2, random_state=0)
    assert stages(record.seen) == [("pretraining", 0, 0), ("up-down", None, 0), ("up-down", None, 1)]
    assert record.fits == [("begin", "DBN"), ("end", "DBN")] * 2


def test_a_conditional_rbm_reports_its_training():
    X = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    record = Record()
    ConditionalRBM(n_components=4, order=2, n_iter=3, random_state=0, callbacks=[record]).fit(X)
    assert stages(record.seen) == [("training", 0, e) for e in range(3)]


def test_a_nested_dbns_callbacks_and_the_owners_both_hear_the_pretraining(digits):
    X, y = digits
    inner, outer = [], []
    clf = DBNClassifier(pretraining=DBN((16,), hidden="relu", n_iter=2, callbacks=[inner.append]), max_iter=1,
                        random_state=0,
                        callbacks=[outer.append]).fit(X, y)
    assert stages(inner) == [("pretraining", 0, 0), ("pretraining", 0, 1)]
    assert stages(outer) == stages(inner) + [("fine-tuning", None, 0)]
    assert {type(e.estimator).__name__ for e in inner} == {"DBN"} and outer[0].estimator is clf


def test_callbacks_never_change_what_is_trained(digits, tmp_path):
    X, y = digits
    loggers = [CSVLogger(tmp_path / "log.csv"), TensorBoardLogger(tmp_path / "tb", images_every=1), lambda e: None]
    for make in (lambda cb: RBM(n_components=16, n_iter=3, persistent=True, random_state=0, callbacks=cb),
                 lambda cb: DBNClassifier((16,), n_iter=2, max_iter=3, random_state=0, callbacks=cb)):
        plain, logged = make(None).fit(X, y), make(loggers).fit(X, y)
        for a, b in zip(plain.__dict__.values(), logged.__dict__.values()):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
        if hasattr(plain, "predict_proba"):
            np.testing.assert_array_equal(plain.predict_proba(X), logged.predict_proba(X))
        else:
            np.testing.assert_array_equal(plain.components_, logged.components_)


def test_a_callback_ends_its_stage_and_the_fit_goes_on(digits):
    X, y = digits
    rbm = RBM(n_components=8, n_iter=10, random_state=0, callbacks=[lambda e: e.epoch == 2]).fit(X)
    assert rbm.n_iter_ == 3 and len(rbm.history_) == 3
    # The first layer ends at its second epoch; the second layer and fine-tuning run (fine-tuning is ended too).
    record = Record(stop=lambda e: (e.layer == 0 and e.epoch == 1) or (e.stage == "fine-tuning" and e.epoch == 2))
    clf = DBNClassifier((16, 8), n_iter=5, max_iter=20, random_state=0, callbacks=[record]).fit(X, y)
    assert stages(record.seen) == ([("pretraining", 0, 0), ("pretraining", 0, 1)]
                                   + [("pretraining", 1, e) for e in range(5)]
                                   + [("fine-tuning", None, e) for e in range(3)])
    assert clf.dbn_.rbms_[0].n_iter_ == 2 and clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1, rtol=1e-5)  # fitted and usable


def test_bad_callbacks_are_refused_with_the_remedy(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="wrap a single one in a list"):
        RBM(n_iter=1, callbacks=CSVLogger("x.csv")).fit(X)
    with pytest.raises(ValueError, match="Callback objects or callables"):
        RBM(n_iter=1, callbacks=[1]).fit(X)


def test_callbacks_are_not_saved_and_estimators_with_them_clone_and_cross_validate(digits, tmp_path):
    X, y = digits
    heard = []
    clf = DBNClassifier((16,), n_iter=1, max_iter=2, random_state=0,
                        callbacks=[heard.append, TensorBoardLogger(tmp_path / "tb", images_every=0)])
    scores = cross_val_score(clf, X, y, cv=2)
    assert np.all(scores > 0.2) and len(heard) == 2 * 3  # a function is shared by the clones; 3 epochs per fold
    fitted = clone(clf).fit(X, y)
    fitted.save(tmp_path / "m.dbn")
    loaded = load(tmp_path / "m.dbn")
    assert loaded.callbacks is None
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def interrupted(make, X, y, at):
    """Fit ``make(extra_callbacks)``, interrupted by a KeyboardInterrupt at the epoch ``at`` (stage, layer, epoch),
    then resumed; returns the resumed estimator."""
    def interrupt(e):
        if (e.stage, e.layer, e.epoch) == at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make([interrupt]).fit(X, y)
    return make([]).fit(X, y, resume=True)


def test_the_loggers_continue_a_resumed_fit_without_duplicate_steps(digits, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X, y = digits
    # Checkpoints every 2 epochs: the interruption at epoch 3 of the first layer (after it was logged) resumes
    # from epoch 2, so the loggers see epochs 2 and 3 twice and must keep one of each.
    def make(log, extra):
        return DBNClassifier((16, 8), activation="sigmoid", n_iter=5, max_iter=4, checkpoint_dir=tmp_path / f"ck-{log}",
                             checkpoint_every=2, random_state=0,
                             callbacks=[CSVLogger(tmp_path / f"{log}.csv"),
                                        TensorBoardLogger(tmp_path / f"tb-{log}", images_every=2), *extra])

    whole = make("whole", []).fit(X, y)
    resumed = interrupted(lambda extra: make("cut", extra), X, y, ("pretraining", 0, 3))
    np.testing.assert_array_equal(resumed.predict_proba(X), whole.predict_proba(X))

    columns = ["stage", "layer", "epoch", "metric", "value"]
    cut, full = pd.read_csv(tmp_path / "cut.csv"), pd.read_csv(tmp_path / "whole.csv")
    assert not cut.duplicated(["stage", "layer", "epoch", "metric"]).any()
    pd.testing.assert_frame_equal(cut.sort_values(columns[:4]).reset_index(drop=True)[columns],
                                  full.sort_values(columns[:4]).reset_index(drop=True)[columns])
    assert len(full) == 5 + 5 + 4

    for log in ("whole", "cut"):
        for run, tag, n in (("pretraining-layer1", "reconstruction_error", 5),
                            ("pretraining-layer2", "reconstruction_error", 5), ("fine-tuning", "loss", 4)):
            events = EventAccumulator(str(tmp_path / f"tb-{log}" / run), size_guidance={"scalars": 0, "images": 0,
                                                                                        "tensors": 0})
            events.Reload()
            steps = [e.step for e in events.Scalars(tag)]
            assert steps == list(range(n)), (log, run, steps)
            values = [e.value for e in events.Scalars(tag)]
            expected = full[(full.metric == tag) & (full.stage == run.split("-layer")[0])]
            if "layer" in run:
                expected = expected[expected.layer == float(run[-1])]
            np.testing.assert_allclose(values, expected.value.to_numpy(), rtol=1e-6)
            assert "hyperparameters/text_summary" in events.Tags()["tensors"]
            if run == "pretraining-layer1":  # 8 x 8 digits: filters, reconstructions and samples every 2 epochs
                for image in ("filters", "reconstructions", "samples"):
                    assert [e.step for e in events.Images(image)] == [1, 3, 4], (log, image)
            else:
                assert events.Tags()["images"] == ([] if run == "pretraining-layer2" else ["filters"])
