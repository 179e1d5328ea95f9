"""Classification-RBM training: objectives, hybrid weights, unlabelled rows."""
import pytest
import torch

from deepbelief.core.rbm import RBMModule
from deepbelief.core.units import LabelledUnits
from deepbelief.training import CDConfig, CDTrainer, ClassificationTrainer

from tests.helpers import random_rbm


def labelled_module(seed=0):
    rbm = RBMModule(8, 5, visible=LabelledUnits("bernoulli", 5, 3), dtype=torch.float64)
    rbm.load_state_dict(random_rbm(8, 5, seed=seed, scale=0.3).state_dict())
    return rbm


def rows(n=30, seed=1, unlabelled=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = (torch.rand(n, 5, generator=g, dtype=torch.float64) < 0.2 + 0.3 * (y[:, None] == torch.arange(5) % 3)).double()
    labels = torch.nn.functional.one_hot(y, 3).double()
    labels[:unlabelled] = 0.0
    return torch.cat([x, labels], 1)


def train(objective, steps=20, config=None, data=None, **kw):
    rbm = labelled_module()
    trainer = ClassificationTrainer(rbm, config or CDConfig(learning_rate=0.1, momentum=0.0, final_momentum=0.0),
                                    torch.Generator().manual_seed(3), objective=objective, **kw)
    data = rows() if data is None else data
    losses = [trainer.step(data).item() for _ in range(steps)]
    return rbm, losses


def conditional_log_likelihood(rbm, data):
    x, y = data[:, :5], data[:, 5:]
    return (y * torch.log_softmax(-rbm.label_free_energies(x), 1)).sum().item()


def test_full_batch_discriminative_steps_raise_the_conditional_likelihood_every_step():
    rbm, losses = train("discriminative", steps=30)
    assert all(b < a for a, b in zip(losses, losses[1:]))  # the monitor is -sum log P(y | x) before each step
    assert conditional_log_likelihood(rbm, rows()) > -losses[0] + 1.0


def test_hybrid_with_generative_weight_zero_is_discriminative():
    a, _ = train("discriminative")
    b, _ = train("hybrid", generative_weight=0.0)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_generative_objective_is_cd_on_the_joint_rows():
    config = CDConfig(learning_rate=0.1, k=2)
    a, _ = train("generative", steps=5, config=config)
    b = labelled_module()
    trainer = CDTrainer(b, config, torch.Generator().manual_seed(3))
    for _ in range(5):
        trainer.step(rows())
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def test_hybrid_moves_further_from_discriminative_as_the_generative_weight_grows():
    base, _ = train("discriminative")
    distances = []
    for alpha in (0.01, 0.1, 1.0):
        rbm, _ = train("hybrid", generative_weight=alpha)
        distances.append((rbm.weight - base.weight).norm().item())
    assert 0 < distances[0] < distances[1] < distances[2]


def test_unlabelled_rows_are_ignored_at_weight_zero_and_train_the_generative_part_otherwise():
    data = rows(unlabelled=10)
    base, _ = train("discriminative", data=data)
    zero, _ = train("discriminative", data=data, unlabelled_weight=0.0)
    for p, q in zip(base.parameters(), zero.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    semi, _ = train("discriminative", data=data, unlabelled_weight=0.5)
    assert (semi.weight[:, :5] - base.weight[:, :5]).abs().max() > 1e-3


def test_labels_of_unlabelled_rows_are_drawn_from_the_posterior():
    rbm = labelled_module(seed=4)
    trainer = ClassificationTrainer(rbm, CDConfig(), torch.Generator().manual_seed(0), objective="discriminative")
    x = rows(n=2)[:, :5].repeat_interleave(20000, 0)
    drawn = trainer.draw_labels(x)
    assert torch.all(drawn.sum(1) == 1)
    posterior = rbm.label_posterior(x[[0, -1]])
    torch.testing.assert_close(drawn[:20000].mean(0), posterior[0], atol=0.012, rtol=0)
    torch.testing.assert_close(drawn[20000:].mean(0), posterior[1], atol=0.012, rtol=0)


def test_validation_metrics_are_the_log_loss_and_error_of_the_labelled_rows():
    rbm, _ = train("discriminative")
    data = rows(n=40, seed=9, unlabelled=5)
    trainer = ClassificationTrainer(rbm, CDConfig(), torch.Generator(), objective="discriminative")
    metrics = trainer.validation_metrics(data)
    x, y = data[5:, :5], data[5:, 5:]
    log_p = torch.log_softmax(-rbm.label_free_energies(x), 1)
    assert metrics["log_loss_valid"] == pytest.approx(-(y * log_p).sum().item() / 35, rel=1e-12)
    assert metrics["error_valid"] == pytest.approx((log_p.argmax(1) != y.argmax(1)).double().mean().item())


def test_objective_is_checked():
    with pytest.raises(ValueError, match="objective must be one of"):
        ClassificationTrainer(labelled_module(), CDConfig(), torch.Generator(), objective="supervised")


def test_entropy_on_unlabelled_rows_makes_their_predictions_confident_without_sampling():
    data = rows(unlabelled=10)
    x = data[:10, :5]

    def entropy(rbm):
        log_p = torch.log_softmax(-rbm.label_free_energies(x), 1)
        return -(log_p.exp() * log_p).sum(1).mean().item()

    config = CDConfig(learning_rate=1.0, momentum=0.0, final_momentum=0.0)
    discriminative, _ = train("discriminative", steps=100, config=config, data=data)
    regularised, _ = train("discriminative", steps=100, config=config, data=data, unlabelled_weight=1.0,
                           unlabelled_objective="entropy")
    assert entropy(regularised) < entropy(discriminative) - 0.05
    # exact: the step is the sum of the conditional and the entropy gradients, no draws
    rbm = labelled_module()
    trainer = ClassificationTrainer(rbm, CDConfig(learning_rate=1.0, momentum=0.0, final_momentum=0.0),
                                    torch.Generator().manual_seed(3), objective="discriminative",
                                    unlabelled_weight=0.5, unlabelled_objective="entropy")
    reference = labelled_module()
    labelled = data[:, 5:].sum(1)
    parts = [a + b for a, b in zip(reference.discriminative_statistics(data[:, :5], data[:, 5:])[:3],
                                   reference.entropy_statistics(data[:, :5], 0.5 * (1 - labelled))[:3])]
    state = trainer.generator.get_state()
    trainer.step(data)
    assert torch.equal(trainer.generator.get_state(), state)
    for param, before, part in zip(rbm.cd_parameters(), reference.cd_parameters(), parts):
        torch.testing.assert_close(param, before + part, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="unlabelled_objective must be one of"):
        ClassificationTrainer(labelled_module(), CDConfig(), torch.Generator(), unlabelled_objective="mutual")
