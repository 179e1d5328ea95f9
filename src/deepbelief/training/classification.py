"""Training a classification RBM (label units in its visible layer) for P(y | x): discriminatively, generatively,
or by their hybrid, with unlabelled rows for semi-supervised learning (Larochelle & Bengio 2008; Larochelle,
Mandel, Pascanu & Bengio 2012)."""
import torch

from ..core.units import SOFTMAX
from .cd import CDTrainer
from .loop import precision_scope

OBJECTIVES = ("generative", "discriminative", "hybrid")
UNLABELLED_OBJECTIVES = ("generative", "entropy", "information")


class ClassificationTrainer(CDTrainer):
    """Training of an :class:`~deepbelief.core.rbm.RBMModule` with :class:`~deepbelief.core.units.LabelledUnits`
    on rows [x, y], y one-hot, or all zeros for an unlabelled row.

    Each update ascends (1/n) [sum_labelled (d log P(y | x) + alpha log P(x, y)) + beta sum_unlabelled log P(x)]
    over the batch's n rows, where d is 1 for 'discriminative' and 'hybrid' (0 for 'generative') and alpha is 1
    for 'generative', ``generative_weight`` for 'hybrid' and 0 for 'discriminative'; beta is
    ``unlabelled_weight``. The conditional term's gradient is exact (``discriminative_statistics``); the
    generative ones are CD-k / PCD-k, an unlabelled row's label drawn from P(y | x) (which makes [x, y] a sample
    of the positive phase of log P(x)). With ``unlabelled_objective='entropy'`` an unlabelled row adds
    -beta H(P(y | x)) instead of beta log P(x) (entropy regularisation, Grandvalet & Bengio 2005), also exact
    (``entropy_statistics``); ``'information'`` adds beta (H(pbar) - H(P(y | x))) per unlabelled row, pbar their mean
    posterior in the batch (all ranks' batches together), so that confident predictions stay spread over the classes
    (an estimate of the mutual information between x and y). Momentum, schedules, weight decay, sparsity, centring,
    checkpoints and
    data parallelism are :class:`CDTrainer`'s.

    The monitor is the mean log loss -log P(y | x) of the labelled rows ('log_loss'), or for the generative
    objective the reconstruction error; with validation rows also 'log_loss_valid' and 'error_valid'.
    """

    def __init__(self, rbm, config, generator, group=None, *, objective="hybrid", generative_weight=0.01,
                 unlabelled_weight=0.0, unlabelled_objective="generative"):
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}; got {objective!r}")
        if unlabelled_objective not in UNLABELLED_OBJECTIVES:
            raise ValueError(f"unlabelled_objective must be one of {UNLABELLED_OBJECTIVES}; got {unlabelled_objective!r}")
        super().__init__(rbm, config, generator, group)
        self.objective, self.unlabelled_weight = objective, float(unlabelled_weight)
        self.entropy = unlabelled_objective in ("entropy", "information")
        self.balanced = unlabelled_objective == "information"
        self.generative_weight = {"generative": 1.0, "discriminative": 0.0}.get(objective, float(generative_weight))
        self.monitor = "reconstruction_error" if objective == "generative" else "log_loss"

    def split(self, v0):
        n = self.rbm.visible.n_features
        return v0[:, :n], v0[:, n:]

    def monitor_count(self, rows):
        if self.objective == "generative":
            return rows.numel()
        return int(self.split(rows)[1].sum().item())  # the labelled rows

    def step(self, v0, epoch=0, learning_rate=None):
        c, rbm = self.config, self.rbm
        x, y = self.split(v0)
        labelled = y.sum(1)  # 1 for a labelled row, 0 for an unlabelled one
        grads = [torch.zeros_like(p) for p in self.params]
        hidden_mean, monitor = None, None
        if self.objective != "generative":
            with precision_scope(c.precision, v0.device.type):
                *parts, monitor, hidden_mean = rbm.discriminative_statistics(x, y)
            for grad, part in zip(grads, parts):
                grad.add_(part)
        if self.entropy and self.unlabelled_weight:
            weights = self.unlabelled_weight * (1.0 - labelled)
            with precision_scope(c.precision, v0.device.type):
                marginal = self.label_marginal(x, weights) if self.balanced else None
                *parts, _ = rbm.entropy_statistics(x, weights, marginal)
            for grad, part in zip(grads, parts):
                grad.add_(part)
        generative_unlabelled = 0.0 if self.entropy else self.unlabelled_weight
        weights = self.generative_weight * labelled + generative_unlabelled * (1.0 - labelled)
        if self.generative_weight or generative_unlabelled:
            if generative_unlabelled:  # labels of the unlabelled rows drawn from P(y | x)
                v0 = torch.cat([x, y + (1.0 - labelled)[:, None] * self.draw_labels(x)], 1)
            if c.persistent and self.chain is None:
                self.chain = self._start_chains(v0.shape[0])
            with precision_scope(c.precision, v0.device.type):
                stats = rbm.weighted_cd_statistics(v0, weights, c.k, self.draws,
                                                   self.chain if c.persistent else None)
            self.chain_end = stats.chain
            if c.persistent:
                self.chain = stats.chain
            for grad, part in zip(grads, (stats.grad_weight, stats.grad_visible_bias, stats.grad_hidden_bias)):
                grad.add_(part)
            if hidden_mean is None:
                hidden_mean, monitor = stats.hidden_mean, stats.squared_error
        self.adjust(grads, _Activity(hidden_mean), v0)
        self.descend(grads, epoch, learning_rate)
        return monitor

    def label_marginal(self, x, weights):
        """The ``weights``-weighted mean label posterior of the batch's rows x, over all ranks' rows under data
        parallelism (so that two ranks train as one process with their batches stacked)."""
        totals = torch.cat([(weights[:, None] * self.rbm.label_posterior(x)).sum(0), weights.sum()[None]])
        if self.group is not None:
            self.group.sum_([totals])
        return totals[:-1] / totals[-1].clamp_min(torch.finfo(totals.dtype).tiny)

    def draw_labels(self, x):
        """One-hot labels drawn from P(y | x), row by row (one uniform per row: shareable among ranks)."""
        return SOFTMAX.sample(None, self.rbm.label_posterior(x), self.draws)

    def validation_metrics(self, validation):
        x, y = self.split(validation)
        keep = y.sum(1) > 0
        x, y = x[keep], y[keep]
        log_p = torch.log_softmax(-self.rbm.label_free_energies(x), 1)
        loss, wrong = -(y * log_p).sum().item(), (log_p.argmax(1) != y.argmax(1)).sum().item()
        totals = [loss, wrong, x.shape[0]]
        loss, wrong, count = totals if self.group is None else self.group.sum(totals)
        return {"log_loss_valid": loss / max(count, 1), "error_valid": wrong / max(count, 1)}


class _Activity:
    """What :meth:`CDTrainer.adjust` reads of a step's statistics: the batch's mean hidden activity."""

    def __init__(self, hidden_mean):
        self.hidden_mean = hidden_mean
