"""The one epoch loop (deepbelief.training.loop.run_epochs) and the paths that now share it."""
import math

import numpy as np
import pytest
import torch

from deepbelief import DBN, TrainingDivergedError
from deepbelief.training import EXPLOSION, divergence, run_epochs


def _loop(monitors, callback=None, first=None):
    """run_epochs over a fake training whose epochs report ``monitors``; returns (epochs run, restores)."""
    weight = torch.zeros(1)
    ran, restored = [], []

    def train_epoch(epoch):
        ran.append(epoch)
        weight.fill_(monitors[epoch])
        return monitors[epoch], {"m": monitors[epoch]}

    run_epochs(range(len(monitors)), train_epoch, lambda: [weight], lambda: weight.clone(),
               lambda saved: restored.append(saved.item()), lambda epoch, why: f"epoch {epoch}: {why}", callback,
               first)
    return ran, restored


def test_the_divergence_rule():
    assert divergence(1.0, 1.0, [torch.ones(2)]) is None
    assert divergence(float("nan"), 1.0, []) == "became non-finite"
    assert divergence(1.0, 1.0, [torch.tensor([0.0, math.inf])]) == "became non-finite"
    assert divergence(EXPLOSION * 2.0 + 1, 2.0, []) == "exploded to 2e+03 from 2"
    assert divergence(EXPLOSION * 2.0, 2.0, []) is None
    assert divergence(1e-3, 0.0, []) is None  # a first epoch of 0 is compared with 1e-6, not 0
    assert divergence(2e-3, 0.0, []) is not None


def test_a_diverging_epoch_restores_the_snapshot_of_its_start_and_names_the_epoch():
    with pytest.raises(TrainingDivergedError, match="epoch 2: became non-finite"):
        _loop([1.0, 1.5, float("nan"), 1.0])
    with pytest.raises(TrainingDivergedError, match="epoch 2: exploded to 5e\\+03 from 1"):
        _loop([1.0, 1.5, 5000.0, 1.0])


def test_a_callback_sees_every_good_epoch_and_can_stop_the_loop():
    seen = []
    ran, restored = _loop([3.0, 2.0, 1.0, 0.5], callback=lambda epoch, metrics: seen.append(metrics["m"]) or epoch == 1)
    assert ran == [0, 1] and seen == [3.0, 2.0] and restored == []


def test_a_resumed_loop_measures_growth_from_the_first_epoch_of_the_run():
    _loop([1500.0], first=2.0)  # 750 x the resumed run's first epoch: fine
    with pytest.raises(TrainingDivergedError, match="from 1"):
        _loop([1500.0], first=1.0)


def test_up_down_gets_the_divergence_rule_and_keeps_the_last_good_network(digits):
    X, y = digits
    dbn = DBN((16, 8), n_iter=1, random_state=0).fit(X)
    dbn.fine_tune_up_down(X, n_iter=1, random_state=0)
    before = [p.clone() for p in dbn.module_.parameters()]
    with pytest.raises(TrainingDivergedError, match="up-down fine-tuning diverged in epoch 0.*learning_rate=3e\\+38"):
        dbn.fine_tune_up_down(X, n_iter=3, learning_rate=3e38, random_state=0)
    after = list(dbn.module_.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    assert np.isfinite(dbn.generate(3, n_gibbs=2, burn_in=2, random_state=0)).all()
