import json
import warnings

import numpy as np
import pytest
import torch

from deepbelief.core.rbm import RBMModule
from deepbelief.errors import TrainingDivergedError
from deepbelief.training import CDConfig, CDTrainer, train_rbm

from tests.helpers import random_rbm


def make_trainer(rbm, seed=0, **config):
    return CDTrainer(rbm, CDConfig(**config), torch.Generator().manual_seed(seed))


def binary_data(n=200, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((n, d), 0.3, dtype=torch.float64), generator=g)


def test_update_is_learning_rate_times_cd_statistics_without_momentum():
    rbm = random_rbm(8, 4, scale=0.1, seed=1)
    before = [p.clone() for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias)]
    v0 = binary_data(16)
    stats = random_rbm(8, 4, scale=0.1, seed=1).cd_statistics(v0, 1, torch.Generator().manual_seed(5))
    make_trainer(rbm, seed=5, learning_rate=0.3, momentum=0.0).step(v0)
    for param, old, grad in zip((rbm.weight, rbm.visible_bias, rbm.hidden_bias), before,
                                (stats.grad_weight, stats.grad_visible_bias, stats.grad_hidden_bias)):
        torch.testing.assert_close(param, old + 0.3 * grad)


def test_momentum_schedule_switches_after_the_given_epoch():
    trainer = make_trainer(RBMModule(2, 2), momentum=0.5, final_momentum=0.9, momentum_switch=5)
    assert [trainer.momentum(e) for e in (0, 4, 5, 50)] == [0.5, 0.5, 0.9, 0.9]


def test_momentum_accumulates_velocity():
    rbm = random_rbm(8, 4, scale=0.1, seed=2)
    trainer = make_trainer(rbm, learning_rate=0.1, momentum=0.5, final_momentum=0.5)
    v0 = binary_data(16)
    trainer.step(v0)
    first = trainer.velocity[0].clone()
    w = rbm.weight.clone()
    trainer.step(v0)
    torch.testing.assert_close(rbm.weight - w, trainer.velocity[0])
    assert not torch.allclose(trainer.velocity[0], first)


def test_weight_decay_subtracts_learning_rate_times_decay_times_weights():
    # Same seed, same draws: the decayed update differs from the plain one by exactly -lr * decay * W.
    rbm = random_rbm(8, 4, scale=1.0, seed=3)
    decayed = make_trainer(rbm, learning_rate=0.1, momentum=0.0, weight_decay=0.5)
    plain_rbm = random_rbm(8, 4, scale=1.0, seed=3)
    plain = make_trainer(plain_rbm, learning_rate=0.1, momentum=0.0)
    v0 = binary_data(64)
    decayed.step(v0)
    plain.step(v0)
    torch.testing.assert_close(rbm.weight, plain_rbm.weight - 0.1 * 0.5 * random_rbm(8, 4, seed=3).weight)


def test_hidden_bias_decrement_lowers_each_hidden_bias_by_the_constant_after_the_update():
    # Same seed, same draws: only the hidden biases differ, by exactly the decrement, whatever the rate.
    rbm, plain_rbm = random_rbm(8, 4, seed=3), random_rbm(8, 4, seed=3)
    v0 = binary_data(64)
    make_trainer(rbm, learning_rate=0.1, momentum=0.0, hidden_bias_decrement=0.02).step(v0)
    make_trainer(plain_rbm, learning_rate=0.1, momentum=0.0).step(v0)
    torch.testing.assert_close(rbm.hidden_bias, plain_rbm.hidden_bias - 0.02, rtol=0, atol=1e-15)
    assert torch.equal(rbm.weight, plain_rbm.weight) and torch.equal(rbm.visible_bias, plain_rbm.visible_bias)


def test_sparsity_drives_mean_activation_to_target():
    data = binary_data(256, 16, seed=4)
    means = {}
    for cost in (0.0, 1.0):
        rbm = random_rbm(16, 8, scale=0.01, seed=4)
        rbm.hidden_bias.fill_(2.0)  # start far above the target
        trainer = make_trainer(rbm, learning_rate=0.05, momentum=0.5, sparsity_target=0.05, sparsity_cost=cost)
        train_rbm(trainer, data, 20, 32)
        means[cost] = rbm.prob_h_given_v(data).mean().item()
    assert means[1.0] < 0.15 < means[0.0]


def test_pcd_keeps_its_chains_between_updates():
    rbm = random_rbm(8, 4, scale=0.1, seed=5)
    trainer = make_trainer(rbm, persistent=True, k=1)
    data = binary_data(40)
    trainer.step(data[:16])
    chain = trainer.chain.clone()
    assert chain.shape == (16, 8)
    trainer.step(data[16:24])  # a shorter batch keeps all 16 chains
    assert trainer.chain.shape == (16, 8) and not torch.equal(trainer.chain, chain)


def test_epoch_visits_every_row_once_per_epoch():
    rbm = random_rbm(8, 4, scale=0.1, seed=6)
    trainer = make_trainer(rbm)
    seen = []
    original = trainer.step
    trainer.step = lambda v0, epoch=0: seen.append(v0.clone()) or original(v0, epoch)
    data = binary_data(50)
    trainer.run_epoch(data, 16, 0, order=torch.randperm(50, generator=torch.Generator().manual_seed(0)))
    assert [len(b) for b in seen] == [16, 16, 16, 2]
    rows = sorted(map(tuple, torch.cat(seen).tolist()))
    assert rows == sorted(map(tuple, data.tolist()))


def test_training_raises_the_exact_likelihood():
    from deepbelief.core.estimate import log_likelihood_exact
    data = binary_data(300, 8, seed=7)
    data[:150, :4] = 1.0  # structure for the hidden units to find
    rbm = random_rbm(8, 6, scale=0.01, seed=7)
    before = log_likelihood_exact(rbm, data).mean().item()
    train_rbm(make_trainer(rbm, learning_rate=0.05), data, 30, 20, torch.Generator().manual_seed(0))
    after = log_likelihood_exact(rbm, data).mean().item()
    assert after > before + 0.5


def test_divergence_raises_and_keeps_the_last_good_parameters():
    g = torch.Generator().manual_seed(8)
    data = torch.randn(200, 6, generator=g, dtype=torch.float64)
    rbm = RBMModule(6, 4, visible="gaussian", dtype=torch.float64)
    rbm.weight.copy_(torch.randn(4, 6, generator=g, dtype=torch.float64) * 0.01)
    trainer = make_trainer(rbm, learning_rate=1e3)
    with pytest.raises(TrainingDivergedError, match=r"layer 0, epoch \d+.*learning_rate=1000"):
        train_rbm(trainer, data, 50, 10)
    assert all(torch.isfinite(p).all() for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias))


def test_history_records_the_validation_gap():
    data = binary_data(120)
    trainer = make_trainer(random_rbm(8, 4, scale=0.1, seed=9))
    calls = []
    history = train_rbm(trainer, data[:100], 3, 10, validation=data[100:], callback=lambda e, m: calls.append(e))
    assert calls == [0, 1, 2] and len(history) == 3
    for m in history:
        assert m["free_energy_gap"] == pytest.approx(m["free_energy_valid"] - m["free_energy_train"])
        assert np.isfinite(m["reconstruction_error"])


def test_momentum_sgd_matches_torch_sgd():
    from deepbelief.training import MomentumSGD
    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
            for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    weights = [p for p in nets[0].parameters() if p.ndim > 1]
    biases = [p for p in nets[0].parameters() if p.ndim <= 1]
    ours = MomentumSGD(weights, biases, lr=0.1, momentum=0.7, weight_decay=0.01)
    theirs = torch.optim.SGD([{"params": [p for p in nets[1].parameters() if p.ndim > 1], "weight_decay": 0.01},
                              {"params": [p for p in nets[1].parameters() if p.ndim <= 1]}], lr=0.1, momentum=0.7)
    x, t = torch.randn(8, 5, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    for _ in range(5):
        for net, opt in zip(nets, (ours, theirs)):
            opt.zero_grad()
            ((net(x) - t) ** 2).mean().backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(a, b)


def test_cosine_schedule_decays_to_zero():
    from deepbelief.training import FineTuneConfig, learning_rate_at
    config = FineTuneConfig(learning_rate=0.2, max_iter=10, schedule="cosine")
    rates = [learning_rate_at(config, e) for e in range(10)]
    assert rates[0] == pytest.approx(0.2) and rates[5] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(rates, rates[1:])) and rates[-1] < 0.01
    assert learning_rate_at(FineTuneConfig(learning_rate=0.2), 7) == 0.2


@pytest.mark.parametrize("schedule, expected", [
    ("constant", [0.2, 0.2, 0.2, 0.2, 0.2]),
    ("linear", [0.2, 0.15, 0.1, 0.05, 0.0]),
    ("cosine", [0.2, 0.1 * (1 + 2 ** -0.5), 0.1, 0.1 * (1 - 2 ** -0.5), 0.0]),
])
def test_scheduled_rate_of_each_epoch(schedule, expected):
    from deepbelief.training import scheduled_rate
    # Epochs 0-3 of 4, then one past the end (partial_fit after fit): hand-worked values.
    assert [scheduled_rate(0.2, schedule, e, 4) for e in range(5)] == pytest.approx(expected)
    assert scheduled_rate(0.2, schedule, 3, 0) == 0.2  # no span: the rate as given
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        scheduled_rate(0.2, "step", 1, 4)


def test_dropout_masks_come_from_the_generator_in_bulk():
    from deepbelief.core.nets import Dropout
    layer = Dropout(0.25, torch.Generator().manual_seed(0), rows=100)
    x = torch.ones(30, 1000)
    outs = [layer(x) for _ in range(7)]  # 210 rows: three refills
    values = torch.cat(outs)
    assert set(values.unique().tolist()) == {0.0, torch.tensor(1 / 0.75).item()}  # float32
    assert (values == 0).double().mean().item() == pytest.approx(0.25, abs=0.01)
    assert not torch.equal(outs[0], outs[1])
    again = Dropout(0.25, torch.Generator().manual_seed(0), rows=100)
    torch.testing.assert_close(torch.cat([again(x) for _ in range(7)]), values)
    layer.eval()
    assert layer(x) is x


def test_max_norm_bounds_each_hidden_units_incoming_weights_after_the_update():
    from deepbelief.training import FineTuneConfig, fine_tune
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2))
    with torch.no_grad():
        network[0].weight.mul_(3.0)  # rows longer than the bound before the update too
        network[2].weight.mul_(3.0)
    X, Y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    # The update by hand (plain SGD, one full batch), then each hidden row scaled down to norm 0.5 if longer.
    expected = [p.detach().clone() for p in network.parameters()]
    loss = torch.nn.functional.cross_entropy(network(X), Y)
    grads = torch.autograd.grad(loss, list(network.parameters()))
    expected = [p - 0.7 * g for p, g in zip(expected, grads)]
    rows = expected[0].numpy().astype(np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    assert (norms > 0.5).all()
    expected[0] = torch.as_tensor(rows * np.minimum(1.0, 0.5 / norms), dtype=torch.float32)
    config = FineTuneConfig(optimizer="sgd", learning_rate=0.7, momentum=0.0, max_iter=1, batch_size=8, max_norm=0.5)
    with pytest.warns(UserWarning, match="max_norm=0.5 is below the length of 3 of the 3 hidden units"):
        fine_tune(network, torch.nn.functional.cross_entropy, X, Y, config, torch.Generator().manual_seed(0))
    for got, want in zip(network.parameters(), expected):
        np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert torch.linalg.vector_norm(network[0].weight, dim=1).max() <= 0.5 + 1e-6
    assert torch.linalg.vector_norm(network[2].weight, dim=1).max() > 0.5  # the output layer is left free


def test_max_norm_warns_only_when_the_starting_weights_are_longer_than_the_bound():
    from deepbelief.training import FineTuneConfig, fine_tune
    X, Y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    for factor, warns in ((1.01, False), (0.99, True)):
        torch.manual_seed(0)
        network = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2))
        longest = torch.linalg.vector_norm(network[0].weight, dim=1).max().item()
        config = FineTuneConfig(optimizer="sgd", learning_rate=1e-3, max_iter=1, batch_size=8,
                                max_norm=longest * factor)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fine_tune(network, torch.nn.functional.cross_entropy, X, Y, config, torch.Generator().manual_seed(0))
        assert any("max_norm" in str(w.message) for w in caught) == warns


def centred_energy(v, h, weight, visible_bias, hidden_bias, mu, lam):
    return -(v - mu) @ visible_bias - (h - lam) @ hidden_bias - ((h - lam) @ weight * (v - mu)).sum(1)


@pytest.mark.parametrize("visible, hidden", [("bernoulli", "bernoulli"), ("gaussian", "bernoulli"),
                                             ("bernoulli", "gaussian"), ("relu", "relu")])
def test_a_centred_step_is_a_gradient_step_on_the_centred_parameters(visible, hidden):
    """For every unit type: the energies' terms in v or h alone are untouched by the offsets."""
    rbm = random_rbm(8, 4, visible, scale=0.5, seed=11, hidden=hidden)
    W, b, c = (p.clone() for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias))
    v0 = binary_data(16, seed=3)
    if visible == "gaussian":
        v0 = torch.randn(16, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    make_trainer(rbm, seed=5, learning_rate=0.3, momentum=0.0, centering=True).step(v0)
    # The same draws, by hand: CD-1 from v0.
    g, twin = torch.Generator().manual_seed(5), random_rbm(8, 4, visible, scale=0.5, seed=11, hidden=hidden)
    ph0, h0 = twin.sample_h_given_v(v0, g)
    pre = twin.pre_v(h0)
    vk = twin.visible.sample(pre, twin.visible.mean(pre), g)
    phk = twin.prob_h_given_v(vk)
    mu, lam = v0.mean(0), ph0.mean(0)  # the first batch's means start the offsets
    # The centred RBM equal to (W, b, c): its energy differs from the ordinary one by a constant only.
    b_c, c_c = b + W.t() @ lam, c + W @ mu
    v, h = binary_data(5, 8, seed=4), binary_data(5, 4, seed=5)
    ordinary = -v @ b - h @ c - (h @ W * v).sum(1)
    difference = centred_energy(v, h, W, b_c, c_c, mu, lam) - ordinary
    torch.testing.assert_close(difference, difference[:1].expand(5))
    # A plain gradient step on the centred parameters, then back to ordinary ones.
    n = v0.shape[0]
    W_new = W + 0.3 * ((ph0 - lam).t() @ (v0 - mu) - (phk - lam).t() @ (vk - mu)) / n
    b_new = b_c + 0.3 * (v0 - vk).mean(0) - W_new.t() @ lam
    c_new = c_c + 0.3 * (ph0 - phk).mean(0) - W_new @ mu
    for param, expected in zip((rbm.weight, rbm.visible_bias, rbm.hidden_bias), (W_new, b_new, c_new)):
        torch.testing.assert_close(param, expected)


def test_centring_offsets_are_moving_averages_of_the_data_means():
    rbm = random_rbm(8, 4, scale=0.5, seed=12)
    trainer = make_trainer(rbm, learning_rate=0.1, centering=True)
    first, second = binary_data(16, seed=1), binary_data(16, seed=2)
    expected_hidden = [rbm.prob_h_given_v(first).mean(0)]
    trainer.step(first)
    expected_hidden.append(rbm.prob_h_given_v(second).mean(0))
    trainer.step(second)
    mu, lam = trainer.offsets
    torch.testing.assert_close(mu, 0.99 * first.mean(0) + 0.01 * second.mean(0))
    torch.testing.assert_close(lam, 0.99 * expected_hidden[0] + 0.01 * expected_hidden[1])


def test_centred_training_raises_the_exact_likelihood():
    from deepbelief.core.estimate import log_likelihood_exact
    data = binary_data(300, 8, seed=7)
    data[:150, :4] = 1.0
    rbm = random_rbm(8, 6, scale=0.01, seed=7)
    before = log_likelihood_exact(rbm, data).mean().item()
    train_rbm(make_trainer(rbm, learning_rate=0.05, centering=True), data, 30, 20, torch.Generator().manual_seed(0))
    assert log_likelihood_exact(rbm, data).mean().item() > before + 0.5


def test_moving_average_by_hand():
    from deepbelief.training import MovingAverage
    net = torch.nn.Linear(2, 1).double()
    expected = [p.detach().clone() for p in net.parameters()]
    average = MovingAverage(net, 0.2)
    for t, decay in enumerate([0.1, 2 / 11, 0.2, 0.2]):  # min(0.2, (1 + t) / (10 + t))
        with torch.no_grad():
            for p in net.parameters():
                p.add_(t + 1.0)
        average.update()
        expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, net.parameters())]
    raw = [p.detach().clone() for p in net.parameters()]
    with average.swapped():
        for p, e in zip(net.parameters(), expected):
            torch.testing.assert_close(p.detach(), e)
    for p, r in zip(net.parameters(), raw):
        assert torch.equal(p.detach(), r)
    assert average.updates == 4


def _ema_run(ema_decay, scores=None, scored=None):
    """Three epochs of three SGD updates; returns (the weights each update started from, the final network). With
    ``scores``, the validation score of each epoch, and the weights it was given are appended to ``scored``."""
    from deepbelief.training import FineTuneConfig, fine_tune
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2)).double()
    g = torch.Generator().manual_seed(1)
    X, Y = torch.randn(24, 4, generator=g, dtype=torch.float64), torch.randint(0, 2, (24,), generator=g)
    seen = []

    def loss_fn(outputs, targets):
        seen.append([p.detach().clone() for p in network.parameters()])
        return torch.nn.functional.cross_entropy(outputs, targets)

    def validation(net):
        scored.append([p.detach().clone() for p in net.parameters()])
        return scores[len(scored) - 1]

    config = FineTuneConfig(optimizer="sgd", learning_rate=0.5, momentum=0.5, max_iter=3, batch_size=8,
                            ema_decay=ema_decay, n_iter_no_change=5)
    fine_tune(network, loss_fn, X, Y, config, torch.Generator().manual_seed(0), scores and validation)
    return seen, network


def _plain_run():
    """The run without the average: (the weights each update started from, the weights after each update)."""
    seen, plain = _ema_run(None)
    return seen, seen[1:] + [[p.detach() for p in plain.parameters()]]


def _by_hand(start, after, decay):
    average = [p.clone() for p in start]
    for t, weights in enumerate(after):
        d = min(decay, (1 + t) / (10 + t))
        average = [d * a + (1 - d) * w for a, w in zip(average, weights)]
    return average


def test_fine_tuning_with_ema_ends_with_the_average_of_the_weights_after_every_update():
    seen, after = _plain_run()
    seen_ema, network = _ema_run(0.3)
    for a, b in zip(seen, seen_ema):  # the average does not change the training itself
        for x, y in zip(a, b):
            assert torch.equal(x, y)
    for got, want in zip(network.parameters(), _by_hand(seen[0], after, 0.3)):
        torch.testing.assert_close(got.detach(), want)
    assert not torch.allclose(network[0].weight, after[-1][0])


def test_early_stopping_with_ema_scores_and_keeps_the_average():
    seen, after = _plain_run()
    scored = []
    seen_ema, network = _ema_run(0.3, scores=[0.5, 0.9, 0.7], scored=scored)  # the second epoch scores best
    for epoch in range(3):
        for got, want in zip(scored[epoch], _by_hand(seen[0], after[:3 * epoch + 3], 0.3)):
            torch.testing.assert_close(got, want)
    for got, want in zip(network.parameters(), scored[1]):
        torch.testing.assert_close(got.detach(), want)
    for x, y in zip(seen[6], seen_ema[6]):  # the third epoch trained from the raw weights, not the average
        assert torch.equal(x, y)


def test_divergence_with_ema_leaves_the_average_of_the_last_good_epoch():
    from deepbelief.training import FineTuneConfig, FineTuneProgress, fine_tune

    def run(max_iter):
        torch.manual_seed(0)
        network = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1)).double()
        g = torch.Generator().manual_seed(1)
        X = torch.randn(24, 4, generator=g, dtype=torch.float64)
        Y = X.sum(1, keepdim=True)
        config = FineTuneConfig(optimizer="sgd", learning_rate=3.0, momentum=0.9, max_iter=max_iter, batch_size=8,
                                ema_decay=0.5)
        progress = FineTuneProgress()
        try:
            fine_tune(network, torch.nn.functional.mse_loss, X, Y, config, torch.Generator().manual_seed(0),
                      progress=progress)
        except TrainingDivergedError:
            pass
        return network, progress

    network, progress = run(50)
    good = progress.epoch
    assert 0 < good < 50  # it diverged in epoch `good`
    same, _ = run(good)  # the same training, stopped before that epoch
    for a, b in zip(network.parameters(), same.parameters()):
        torch.testing.assert_close(a, b)
    for a, b in zip(network.parameters(), progress.average):
        assert torch.equal(a.detach(), b)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_an_optimizer_restored_from_its_state_dict_continues_as_the_original(optimizer):
    from deepbelief.training import FineTuneConfig, make_optimizer

    def network():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 1))

    def steps(net, opt, n, seed):
        g = torch.Generator().manual_seed(seed)
        for _ in range(n):
            opt.zero_grad()
            x = torch.rand(5, 3, generator=g)
            net(x).square().sum().backward()
            opt.step()

    config = FineTuneConfig(optimizer=optimizer, learning_rate=0.1, momentum=0.9, weight_decay=0.01)
    original = network()
    opt = make_optimizer(original, config)
    steps(original, opt, 3, 0)
    copy = network()
    copy.load_state_dict(original.state_dict())
    restored = make_optimizer(copy, config)
    restored.load_state_dict({k: v.clone() for k, v in opt.state_dict().items()})
    assert opt.state_dict() and all(torch.equal(v, restored.state_dict()[k]) for k, v in opt.state_dict().items())
    steps(original, opt, 2, 1)
    steps(copy, restored, 2, 1)
    for a, b in zip(original.parameters(), copy.parameters()):
        assert torch.equal(a, b)


def test_fine_tuning_progress_survives_its_state_dict():
    from deepbelief.training import FineTuneProgress
    progress = FineTuneProgress(epoch=4, loss_curve=[1.0, 0.5], scores=[0.2, 0.3], best_score=0.3,
                                best_state={"0.weight": torch.ones(2, 2)}, stale=1, average=[torch.zeros(3)],
                                average_updates=7)
    tensors, state = progress.state_dict()
    assert sorted(tensors) == ["average.0", "best.0.weight"]
    back = FineTuneProgress.from_state_dict(tensors, json.loads(json.dumps(state)), "cpu")
    assert (back.epoch, back.loss_curve, back.scores, back.best_score, back.stale, back.average_updates) == (
        4, [1.0, 0.5], [0.2, 0.3], 0.3, 1, 7)
    assert torch.equal(back.best_state["0.weight"], torch.ones(2, 2)) and torch.equal(back.average[0], torch.zeros(3))
    fresh = FineTuneProgress.from_state_dict(*FineTuneProgress().state_dict(), "cpu")
    assert fresh.best_score == -float("inf") and fresh.best_state is None and fresh.average is None


def test_dropout_resumes_its_mask_buffer_at_the_saved_position():
    from deepbelief.core.nets import Dropout
    layer = Dropout(0.5, torch.Generator().manual_seed(0), rows=16)
    x = torch.ones(4, 3)
    layer(x)
    masks, position = layer.buffer_state()
    other = Dropout(0.5, torch.Generator().manual_seed(99), rows=16)
    other.load_buffer_state(masks.clone(), position)
    assert position == 4 and torch.equal(layer(x), other(x))  # the next masks come from the buffer, not the seed


def test_the_rectified_rule_reports_its_reconstruction_error_per_unit_as_cd_does():
    """One meaning of 'reconstruction error' (issue 44): the rectified monitor was a per-row sum (5.6 on digits in
    the demo, printed as 'per unit'); it is now the mean squared error per visible unit, as CD's."""
    from deepbelief.training import rectified_cd
    from deepbelief.training.rectified import rectified_init

    V = torch.rand(30, 8, generator=torch.Generator().manual_seed(0))
    errors = []
    W, a, b = rectified_cd(V, 4, 0.0, 1, 1, 10, torch.Generator().manual_seed(1),
                           callback=lambda epoch, metrics: errors.append(metrics["reconstruction_error"]))
    # rate 0: the parameters stay at their initialisation; recompute the epoch's one-step reconstructions by hand
    g = torch.Generator().manual_seed(1)
    W0, a0, b0 = rectified_init(8, 4, g, V.device)
    assert torch.equal(W, W0)
    order = torch.randperm(30, generator=g)
    total = 0.0
    for start in range(0, 30, 10):
        v0 = V[order[start:start + 10]]
        h0 = torch.relu(v0 @ W0.T + b0)
        vk = torch.relu((torch.rand(h0.shape, generator=g) < h0).float() @ W0 + a0)
        total += float(((v0 - vk) ** 2).sum())
    assert errors[0] == pytest.approx(total / V.numel(), rel=1e-5)


def random_crbm(seed, n_visible=6, n_hidden=4, order=2):
    from deepbelief.core.crbm import ConditionalRBMModule
    g = torch.Generator().manual_seed(seed)
    crbm = ConditionalRBMModule(n_visible, n_hidden, order, visible="bernoulli", dtype=torch.float64)
    with torch.no_grad():
        for p in crbm.cd_parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5)
    return crbm


def test_a_centred_conditional_step_centres_the_frame_and_leaves_the_history_weights_plain():
    """Conditional RBM (rows [v_t, u_t]): the offsets shift the static biases only, so W, a, b take the centred
    step of the plain RBM with the dynamic biases, and A, B the ordinary one."""
    crbm, twin = random_crbm(3), random_crbm(3)
    W, a, b, A, B = (p.clone() for p in crbm.cd_parameters())
    rows = binary_data(16, 6 * 3, seed=8)
    make_trainer(crbm, seed=5, learning_rate=0.3, momentum=0.0, centering=True).step(rows)
    g = torch.Generator().manual_seed(5)
    v0, u = twin.split(rows)
    a_t, b_t = twin.dynamic_biases(u)
    ph0, h0 = twin.sample_h_given_v(v0, b_t, g)
    pre = twin.pre_v(h0, a_t)
    vk = twin.visible.sample(pre, twin.visible.mean(pre), g)
    phk = twin.prob_h_given_v(vk, b_t)
    mu, lam, n = v0.mean(0), ph0.mean(0), rows.shape[0]
    W_new = W + 0.3 * ((ph0 - lam).t() @ (v0 - mu) - (phk - lam).t() @ (vk - mu)) / n
    a_new = a + W.t() @ lam + 0.3 * (v0 - vk).mean(0) - W_new.t() @ lam
    b_new = b + W @ mu + 0.3 * (ph0 - phk).mean(0) - W_new @ mu
    A_new, B_new = A + 0.3 * (v0 - vk).t() @ u / n, B + 0.3 * (ph0 - phk).t() @ u / n
    for param, expected in zip(crbm.cd_parameters(), (W_new, a_new, b_new, A_new, B_new)):
        torch.testing.assert_close(param, expected)


def test_the_conditional_sparsity_push_uses_the_frames_mean():
    rows = binary_data(16, 6 * 3, seed=9)
    plain, sparse = random_crbm(4), random_crbm(4)
    v, u = plain.split(rows)
    q = plain.prob_h_given_v(v, plain.dynamic_biases(u)[1]).mean(0)
    make_trainer(plain, seed=2, learning_rate=0.2, momentum=0.0).step(rows)
    make_trainer(sparse, seed=2, learning_rate=0.2, momentum=0.0, sparsity_cost=0.5, sparsity_target=0.05).step(rows)
    push = 0.2 * 0.5 * (0.05 - q)
    torch.testing.assert_close(sparse.hidden_bias - plain.hidden_bias, push)
    torch.testing.assert_close(sparse.weight - plain.weight, torch.outer(push, rows[:, :6].mean(0)))
    torch.testing.assert_close(sparse.autoregressive, plain.autoregressive)
