"""Unit types of an RBM layer.

Each unit type is described by its energy term and by the log of its partition
over its own states, which is all that the conditionals and the free energy need.
With ``pre = bias + input`` the natural parameter of a unit given the other layer:

- Bernoulli units, states {0, 1}: energy ``-bias.x``, mean ``sigmoid(pre)``.
- Gaussian units with unit variance: energy ``0.5 ||x - bias||^2``, mean ``pre``.
- Rectified linear units (Nair & Hinton 2010): the stepped-sigmoid model, many copies of a binary unit with
  biases ``bias - 0.5, bias - 1.5, ...``, whose sum is sampled as ``max(0, pre + N(0, sigmoid(pre)))``, mean
  ``max(0, pre)``.

``sample(pre, mean, generator)`` takes both the pre-activation and the mean (each unit type needs one of them).

Besides the math, each unit object owns every rule of its type that the rest of the package reads: the values it
takes (``low``, ``high``, ``check_values``), whether its data are standardised (``standardized``), the initial
bias from the data's mean (``initial_bias``), the default CD learning rates (``default_learning_rate`` for an RBM,
``conditional_learning_rate`` for a conditional RBM) and where it may serve (``visible``, ``hidden``,
``stacked``: a DBN's hidden layer, which is the visible layer of the RBM above). A new unit type is one class and
one :func:`register_units` call; the estimators' parameter tables read the registries.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class RankDraws:
    """Random draws for one rank's rows of a batch split evenly over ``world`` data-parallel ranks.

    Each draw is made for all ``world`` ranks' rows, identically on every rank (same generator, same state), and the
    rank keeps its own block of rows. So the ranks' generators stay in step, a checkpoint needs one generator
    state, and training draws the same numbers as one process whose batch is the ranks' batches stacked.
    """

    def __init__(self, generator, rank, world):
        self.generator, self.rank, self.world = generator, rank, world


def draw(fn, shape, generator, like):
    """``fn(shape)`` (torch.rand or torch.randn) with ``generator``, a torch.Generator or :class:`RankDraws`, on
    ``like``'s device and dtype."""
    options = dict(device=like.device, dtype=like.dtype)
    if not isinstance(generator, RankDraws):
        return fn(shape, generator=generator, **options)
    n = shape[0]
    everyone = fn((n * generator.world, *shape[1:]), generator=generator.generator, **options)
    return everyone[generator.rank * n:(generator.rank + 1) * n]


class BernoulliUnits:
    """Binary stochastic units with values in {0, 1}."""

    name = "bernoulli"
    binary = True
    low, high = 0.0, 1.0
    standardized = False
    default_learning_rate, conditional_learning_rate = 0.1, 0.01
    visible = hidden = stacked = True

    def check_values(self, X, owner, what="X"):
        """ValueError unless every value of the NumPy array ``X`` lies in [0, 1]."""
        lo, hi = float(np.min(X)), float(np.max(X))
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{owner} has Bernoulli visible units, which need values in [0, 1], but {what} has values in "
                f"[{lo:.4g}, {hi:.4g}]. Scale the data to [0, 1] (e.g. sklearn.preprocessing.MinMaxScaler, or divide "
                "by the maximum pixel value), or use visible='gaussian' for real-valued data")

    def initial_bias(self, mean):
        """log(p / (1 - p)) of the data's mean activation p (Hinton's guide), p clipped to [0.001, 0.999]."""
        p = mean.clamp(1e-3, 1 - 1e-3)
        return torch.log(p / (1 - p))

    def mean(self, pre):
        """E[x | pre] = sigmoid(pre)."""
        return torch.sigmoid(pre)

    def sample(self, pre, mean, generator):
        """x ~ Bernoulli(mean), drawn with ``generator``."""
        return (draw(torch.rand, mean.shape, generator, mean) < mean).to(mean.dtype)

    def energy(self, x, bias):
        """Energy term -bias.x, one value per row (``bias`` of shape (n_units,) or one row of biases per row)."""
        return -(x * bias).sum(-1)

    def log_marginal(self, pre, bias):
        """log sum_x exp(pre.x) = sum softplus(pre): the layer summed out, one value per row."""
        return F.softplus(pre).sum(-1)

    def log_marginal_grad(self, pre):
        """d log_marginal / d pre = sigmoid(pre), elementwise."""
        return torch.sigmoid(pre)


class GaussianUnits:
    """Real-valued units with unit variance (the data are expected standardised)."""

    name = "gaussian"
    binary = False
    low, high = -math.inf, math.inf
    standardized = True  # the estimators standardise the data per feature at fit
    default_learning_rate, conditional_learning_rate = 0.01, 1e-3
    visible = hidden = True
    stacked = False

    def check_values(self, X, owner, what="X"):
        """Any real value."""

    def initial_bias(self, mean):
        """None: the bias stays 0, the mean of standardised data."""
        return None

    def mean(self, pre):
        """E[x | pre] = pre."""
        return pre

    def sample(self, pre, mean, generator):
        """x ~ N(mean, 1), drawn with ``generator``."""
        return mean + draw(torch.randn, mean.shape, generator, mean)

    def energy(self, x, bias):
        """Energy term 0.5 ||x - bias||^2, one value per row."""
        return 0.5 * ((x - bias) ** 2).sum(-1)

    def log_marginal(self, pre, bias):
        """log of the integral over x of exp(-0.5 (x - bias)^2 + x (pre - bias)), one value per row.

        Completing the square gives 0.5 (pre^2 - bias^2) + 0.5 log(2 pi) per unit.
        """
        return (0.5 * (pre**2 - bias**2) + _HALF_LOG_2PI).sum(-1)

    def log_marginal_grad(self, pre):
        """d log_marginal / d pre = pre, elementwise."""
        return pre


class ReLUUnits:
    """Noisy rectified linear units: non-negative real values (Nair & Hinton 2010)."""

    name = "relu"
    binary = False
    low, high = 0.0, math.inf
    standardized = False
    default_learning_rate, conditional_learning_rate = 0.01, 1e-3
    visible = hidden = stacked = True

    def check_values(self, X, owner, what="X"):
        """ValueError unless every value of the NumPy array ``X`` is >= 0."""
        lo = float(np.min(X))
        if lo < 0.0:
            raise ValueError(f"{owner} has rectified linear (relu) units, which take values >= 0, but {what} has a "
                             f"minimum of {lo:.4g}. Shift or scale the data, or use 'gaussian' units "
                             "for real-valued data")

    def initial_bias(self, mean):
        """The data's mean."""
        return mean
    n_steps = 64  # terms of the stepped-sigmoid sum kept in the free energy: exact for pre below about 60

    def mean(self, pre):
        """E[x | pre] ~= max(0, pre), the usual approximation of the stepped-sigmoid mean."""
        return torch.relu(pre)

    def sample(self, pre, mean, generator):
        """x = max(0, pre + N(0, sigmoid(pre))), drawn with ``generator``."""
        return torch.relu(pre + draw(torch.randn, pre.shape, generator, pre) * torch.sigmoid(pre).sqrt())

    def energy(self, x, bias):
        """Energy term -bias.x, one value per row (the copies' offsets live in the partition)."""
        return -(x * bias).sum(-1)

    def log_marginal(self, pre, bias):
        """sum_{i=1..n_steps} softplus(pre - i + 0.5): the stepped-sigmoid copies summed out, one value per row."""
        offsets = torch.arange(self.n_steps, device=pre.device, dtype=pre.dtype) + 0.5
        return F.softplus(pre[..., None] - offsets).sum((-1, -2))

    def log_marginal_grad(self, pre):
        """d log_marginal / d pre = sum_i sigmoid(pre - i + 0.5), elementwise (the copies' exact mean)."""
        offsets = torch.arange(self.n_steps, device=pre.device, dtype=pre.dtype) + 0.5
        return torch.sigmoid(pre[..., None] - offsets).sum(-1)


UNITS = {}
# The names each role accepts, read by the estimators' parameter constraints. Sets, updated in place by
# register_units, so that a registered type reaches every constraint table that holds them.
VISIBLE_UNITS, HIDDEN_UNITS, STACKED_UNITS = set(), set(), set()


def register_units(units):
    """Make the unit object ``units`` available by its ``name`` in the roles its ``visible``, ``hidden`` and
    ``stacked`` flags allow."""
    UNITS[units.name] = units
    for registry, allowed in ((VISIBLE_UNITS, units.visible), (HIDDEN_UNITS, units.hidden),
                              (STACKED_UNITS, units.stacked)):
        (registry.add if allowed else registry.discard)(units.name)


for _units in (BernoulliUnits(), GaussianUnits(), ReLUUnits()):
    register_units(_units)


class SoftmaxUnits:
    """One softmax (one-hot) group of units: exactly one of them is on, P(unit i) = softmax(pre)_i. A DBM's label
    layer (its top layer, beside the top hidden layer). Not registered: no estimator takes it as a unit type."""

    name = "softmax"
    binary = False

    def mean(self, pre):
        return torch.softmax(pre, -1)

    def sample(self, pre, mean, generator):
        """One-hot rows drawn by inverse CDF, one uniform per row (so under :class:`RankDraws` the ranks draw
        what one process with their rows stacked draws)."""
        u = draw(torch.rand, (*mean.shape[:-1], 1), generator, mean)
        index = (mean.cumsum(-1) < u).sum(-1, keepdim=True).clamp_max_(mean.shape[-1] - 1)
        return torch.zeros_like(mean).scatter_(-1, index, 1.0)

    def energy(self, x, bias):
        return -(x * bias).sum(-1)

    def log_marginal(self, pre, bias):
        """log of the sum over the one-hot states: logsumexp(pre)."""
        return torch.logsumexp(pre, -1)

    def entropy(self, mean):
        """Entropy of the categorical distribution ``mean``, one value per row."""
        return -torch.special.xlogy(mean, mean).sum(-1)


SOFTMAX = SoftmaxUnits()


class LabelledUnits:
    """A visible layer of ``n_features`` units of type ``base`` followed by ``n_labels`` softmax (one-hot) label
    units, the top layer of a DBN with labels (Hinton, Osindero & Teh 2006). Rows are [x, y] with y one-hot.

    With clamped labels a Gibbs step keeps the label part fixed; see ``clamp``.
    """

    binary = False

    def __init__(self, base, n_features, n_labels):
        self.base = get_units(base) if isinstance(base, str) else base
        self.n_features = n_features
        self.n_labels = n_labels
        self.name = f"{self.base.name}+softmax({n_labels})"

    def split(self, x):
        return x[..., : self.n_features], x[..., self.n_features:]

    def mean(self, pre):
        """[E[x | pre_x], softmax(pre_y)]."""
        pre_x, pre_y = self.split(pre)
        return torch.cat([self.base.mean(pre_x), torch.softmax(pre_y, -1)], -1)

    def sample(self, pre, mean, generator):
        """[x ~ base units, y ~ one-hot categorical(softmax(pre_y))]."""
        pre_x, _ = self.split(pre)
        mean_x, p_y = self.split(mean)
        flat = p_y.reshape(-1, self.n_labels)  # one row per draw, whatever the leading dimensions
        if isinstance(generator, RankDraws):  # inverse CDF, one uniform per row: the draws split among the ranks
            y = SOFTMAX.sample(None, flat, generator)
        else:  # one process keeps torch.multinomial's stream, which the published benchmark numbers used
            y = torch.zeros_like(flat).scatter_(1, torch.multinomial(flat, 1, generator=generator), 1.0)
        y = y.reshape(p_y.shape)
        return torch.cat([self.base.sample(pre_x, mean_x, generator), y], -1)

    def energy(self, x, bias):
        """E_base(x; a) - c.y, one value per row."""
        (x_part, y), (a, c) = self.split(x), self.split(bias)
        return self.base.energy(x_part, a) - y @ c

    def log_marginal(self, pre, bias):
        """log of the sum over x and the K one-hot states of y: base part + logsumexp(pre_y)."""
        (pre_x, pre_y), (a, _) = self.split(pre), self.split(bias)
        return self.base.log_marginal(pre_x, a) + torch.logsumexp(pre_y, -1)


def get_units(name):
    """The unit object registered as ``name`` ('bernoulli', 'gaussian', 'relu', ...)."""
    try:
        return UNITS[name]
    except KeyError:
        raise ValueError(f"unknown unit type {name!r}; expected one of {sorted(UNITS)}") from None
