"""Likelihood evaluation of fitted RBMs, DBNs and DBMs: exact log Z and log-likelihood for small models, annealed
importance sampling (AIS) for real ones, the variational lower bounds of a DBN and of a DBM, and the cheap
monitors."""
import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._runtime import make_generator, seeds_from, to_numpy
from ._validation import check_X
from .core import estimate
from .estimators import DBM, DBN, RBM


@dataclass(frozen=True)
class AISEstimate:
    """An AIS estimate of log Z: ``log_z`` = log mean of the importance weights (times Z of the base model);
    ``lower`` / ``upper`` = log(mean -+ 3 standard errors of that mean), the standard error being the weights'
    standard deviation (ddof=1) over sqrt(runs), as in Salakhutdinov & Murray's code (-inf when the interval
    reaches 0); ``log_weights`` per run."""

    log_z: float
    lower: float
    upper: float
    log_weights: np.ndarray
    log_z_base: float

    def __float__(self):
        return self.log_z


def _rbm(model, dbm=False):
    if dbm and isinstance(model, DBM):
        check_is_fitted(model, "module_")
        return model
    if not isinstance(model, RBM):
        raise TypeError(f"expected a fitted deepbelief RBM (for a DBN, pass dbn.rbms_[-1]); got {type(model).__name__}")
    check_is_fitted(model, "module_")
    return model


def _float64(rbm):
    return copy.deepcopy(rbm.module_).double()


def log_partition(model, method="exact", **ais_params):
    """log Z of a fitted RBM or DBM: 'exact' by enumerating the RBM's smaller binary layer or the DBM's odd layers
    (refused beyond 2^24 states), or 'ais' (the ``log_z`` of :func:`ais`, which takes ``ais_params``)."""
    rbm = _rbm(model, dbm=True)
    if method == "exact":
        exact = estimate.dbm_log_partition_exact if isinstance(rbm, DBM) else estimate.log_partition_exact
        return float(exact(_float64(rbm)))
    if method == "ais":
        return ais(rbm, **ais_params).log_z
    raise ValueError(f"method must be 'exact' or 'ais'; got {method!r}")


def ais(model, n_runs=100, betas=None, data=None, random_state=None):
    """Annealed importance sampling estimate of log Z (Salakhutdinov & Murray 2008), all runs in parallel on the
    model's device, in float64.

    Parameters
    ----------
    model : fitted RBM with Bernoulli or rectified linear hidden units and Bernoulli or Gaussian visible units
        (label units summed out: log Z of the joint model of data and labels), or a fitted DBM (the runs move its even layers; the odd ones are summed out, Salakhutdinov & Hinton 2009)
    n_runs : int, default=100
    betas : increasing sequence from 0 to 1 or None
        Inverse temperatures; None is the paper's schedule of 14,501 values (steps of 1e-3 to 0.5, 1e-4 to 0.9,
        1e-5 to 1), see :func:`deepbelief.core.estimate.default_betas`.
    data : array-like or None
        Training rows: the base model then has the data's marginals (Bernoulli visible biases log(p / (1 - p)),
        p clipped to [0.001, 0.999]; Gaussian means of the standardised data); None: biases / means 0.
    random_state : int, RandomState or None

    Returns
    -------
    AISEstimate
    """
    rbm = _rbm(model, dbm=True)
    if not (isinstance(n_runs, int) and n_runs >= 2):
        raise ValueError(f"n_runs must be an integer >= 2; got {n_runs!r}")
    module = _float64(rbm)
    if isinstance(rbm, DBM):
        run, device = estimate.dbm_ais_log_weights, module.biases[0].device
    else:
        run, device = estimate.ais_log_weights, module.weight.device
    base, betas, generator = _annealing(rbm, data, betas, random_state, device)
    log_w, log_z_base = run(module, n_runs, betas, base, generator)
    log_w = to_numpy(log_w)
    top = log_w.max()
    weights = np.exp(log_w - top)
    mean, error = weights.mean(), weights.std(ddof=1) / math.sqrt(len(weights))  # the mean's standard error
    shift = top + log_z_base

    def log_of(x):
        return shift + math.log(x) if x > 0 else -math.inf

    return AISEstimate(log_of(mean), log_of(mean - 3 * error), log_of(mean + 3 * error), log_w, log_z_base)


def _annealing(rbm, data, betas, random_state, device):
    """(base model's visible biases or means, inverse temperatures, generator) of an annealing run."""
    base = torch.zeros(rbm.n_features_in_, dtype=torch.float64, device=device)
    if data is not None:
        mean = rbm._encode(check_X(rbm, data, reset=False, units=rbm.visible_)).double().mean(0)
        base = torch.logit(mean.clamp(1e-3, 1 - 1e-3)) if rbm.visible_ == "bernoulli" else mean
    betas = estimate.default_betas() if betas is None else torch.as_tensor(betas, dtype=torch.float64)
    return base, betas, make_generator(seeds_from(random_state, 1)[0], device)


def raise_log_likelihood(model, X, n_runs=10, betas=None, data=None, random_state=None, chunk=2000):
    """Reverse AIS (RAISE; Burda, Grosse & Salakhutdinov 2015): a conservative estimate of log p(x) of each row
    under a fitted RBM, in the data's units, in float64.

    Each row starts ``n_runs`` chains at the row itself and anneals them from the RBM down to the base model of
    :func:`ais` (the same ``betas`` and ``data``); see :func:`deepbelief.core.estimate.raise_log_likelihood`. The
    result estimates the log-likelihood of the annealing model (the distribution of a forward AIS run's last
    state), which tends to the RBM's as the betas are refined, and underestimates it on average: averaged over
    data the model fits (its training data, its own samples) it lies below the true mean log-likelihood, as AIS's
    lies above it, so the two bracket it (see :func:`likelihood_bounds`). Rows far from the model (noise) can
    score above their true log-likelihood, because the annealing model is blurrier than the RBM.

    Parameters
    ----------
    model : fitted RBM (Bernoulli or rectified linear hidden units; label units summed out)
    X : array-like of shape (n_samples, n_features)
    n_runs : int, chains per row, default=10
    betas, data, random_state : as in :func:`ais`
    chunk : int, the chains annealed at once (rows times runs), bounding the memory

    Returns
    -------
    log_p : ndarray of shape (n_samples,)
    """
    return _raise(model, X, n_runs, betas, data, random_state, chunk)[0]


def _raise(model, X, n_runs, betas, data, random_state, chunk=2000):
    """(RAISE estimates per row in the data's units, the estimates' Monte Carlo variances): the variance of
    log mean(w) by the delta method, var(w / mean(w)) / n_runs (nan for a single run)."""
    if isinstance(model, DBM):
        raise TypeError("RAISE starts from each row's unnormalised probability p*(x), which a DBM does not give in "
                        "closed form (its hidden layers interact); bound a DBM with dbm_lower_bound and ais")
    rbm = _rbm(model)
    if not (isinstance(n_runs, int) and n_runs >= 1):
        raise ValueError(f"n_runs must be an integer >= 1; got {n_runs!r}")
    module = _float64(rbm)
    base, betas, generator = _annealing(rbm, data, betas, random_state, module.weight.device)
    v = rbm._encode(check_X(rbm, X, reset=False, units=rbm.visible_)).double()
    step = max(1, chunk // n_runs)
    rows, variances = [], []
    for i in range(0, v.shape[0], step):
        estimate_rows, log_w = estimate.raise_log_likelihood(module, v[i:i + step], n_runs, betas, base, generator)
        rows.append(estimate_rows)
        ratio = torch.exp(log_w - estimate_rows[:, None])  # w / mean(w), per row
        variances.append(ratio.var(1) / n_runs if n_runs > 1 else torch.full_like(estimate_rows, math.nan))
    return to_numpy(torch.cat(rows)) + rbm._data_log_jacobian(), to_numpy(torch.cat(variances))


@dataclass(frozen=True)
class LikelihoodBounds:
    """The mean log-likelihood of rows bracketed from both sides: ``lower`` the mean RAISE estimate
    (:func:`raise_log_likelihood`) less 3 standard errors of its Monte Carlo noise, ``upper`` the mean of
    -F(x) - log Z with log Z at the low end of AIS's 3-std interval, ``estimate`` the same with AIS's log Z itself;
    ``raise_mean`` the mean RAISE estimate, ``ais`` the :class:`AISEstimate`, ``raise_rows`` the per-row RAISE
    estimates."""

    lower: float
    estimate: float
    upper: float
    raise_mean: float
    ais: AISEstimate
    raise_rows: np.ndarray


def likelihood_bounds(model, X, ais_runs=100, raise_runs=10, betas=None, data=None, random_state=None,
                      ais_estimate=None):
    """Two-sided estimate of the mean log-likelihood of the rows ``X`` under a fitted RBM: AIS from above (an
    unbiased Z underestimates log Z on average, so log-likelihoods come out high; its 3-std low end of log Z makes
    that side more conservative still) and RAISE from below, with the same ``betas`` and base model (``data``).
    When the two ends are close the number is settled; a wide gap says the annealing has not converged.

    Parameters
    ----------
    model : fitted RBM (see :func:`ais`)
    X : array-like of shape (n_samples, n_features), e.g. test rows
    ais_runs, raise_runs : int, the forward runs and the reverse runs per row (>= 2)
    betas, data, random_state : as in :func:`ais`
    ais_estimate : AISEstimate or None, the model's log Z from an earlier :func:`ais` call (then ``ais_runs`` is
        not used)

    Returns
    -------
    LikelihoodBounds
    """
    if not (isinstance(raise_runs, int) and raise_runs >= 2):
        raise ValueError(f"raise_runs must be an integer >= 2 (the spread of its runs sizes its noise); got "
                         f"{raise_runs!r}")
    seeds = seeds_from(random_state, 2)
    forward = ais_estimate or ais(model, n_runs=ais_runs, betas=betas, data=data, random_state=seeds[0])
    unnormalized = float(np.mean(-model.free_energy(X).astype(np.float64) + model._data_log_jacobian()))
    rows, variances = _raise(model, X, raise_runs, betas, data, seeds[1])
    mean = float(rows.mean())
    noise = math.sqrt(float(variances.sum())) / len(rows)  # the standard error of the mean of independent rows
    return LikelihoodBounds(mean - 3 * noise, unnormalized - forward.log_z, unnormalized - forward.lower, mean,
                            forward, rows)


def log_likelihood(model, X, log_z=None):
    """log p(x) of each row under a fitted RBM, in the data's units: -F(x) - log Z (label summed out for label
    models); under a fitted DBM exactly by enumeration (small models; see :func:`dbm_lower_bound` otherwise).
    ``log_z`` from :func:`ais` or :func:`log_partition`; None computes it exactly (small models)."""
    rbm = _rbm(model, dbm=True)
    if log_z is None:
        log_z = log_partition(rbm)
    if isinstance(rbm, DBM):
        v = rbm._encode(check_X(rbm, X, reset=False, units=rbm.visible_)).double()
        log_p = to_numpy(estimate.dbm_log_unnormalized_exact(_float64(rbm), v))
        return log_p - float(log_z) + rbm._data_log_jacobian()
    return -rbm.free_energy(X).astype(np.float64) - float(log_z) + rbm._data_log_jacobian()


def dbn_lower_bound(dbn, X, log_z_top=None, n_samples=10, random_state=None):
    """Variational lower bound on log p(x) of each row under a fitted DBN (Salakhutdinov & Murray 2008), in the
    data's units; see :func:`deepbelief.core.estimate.dbn_log_likelihood_bound`.

    ``log_z_top``: log Z of the top RBM (e.g. ``ais(dbn.rbms_[-1]).log_z``); None computes it exactly (small top
    RBMs). ``n_samples`` stochastic bottom-up passes per row estimate the expectation.
    """
    if not isinstance(dbn, DBN):
        raise TypeError(f"expected a fitted deepbelief DBN; got {type(dbn).__name__}")
    check_is_fitted(dbn, "rbms_")
    if not (isinstance(n_samples, int) and n_samples >= 1):
        raise ValueError(f"n_samples must be an integer >= 1; got {n_samples!r}")
    if log_z_top is None:
        log_z_top = log_partition(dbn.rbms_[-1])
    first = dbn.rbms_[0]
    X = check_X(dbn, X, reset=False, units=dbn.visible_)
    module = copy.deepcopy(dbn.module_).double()
    v = first._encode(X).double()
    generator = make_generator(seeds_from(random_state, 1)[0], v.device)
    bound = estimate.dbn_log_likelihood_bound(module, v, float(log_z_top), n_samples, generator)
    return to_numpy(bound) + first._data_log_jacobian()


def dbm_lower_bound(dbm, X, log_z=None):
    """Lower bound on log p(x) of each row under a fitted DBM, in the data's units: the mean-field bound
    (``dbm.score_samples``) minus log Z, as Salakhutdinov & Hinton (2009) report it with log Z from AIS
    (``log_z=ais(dbm).log_z``); None computes log Z exactly (small models)."""
    if not isinstance(dbm, DBM):
        raise TypeError(f"expected a fitted deepbelief DBM; got {type(dbm).__name__}")
    check_is_fitted(dbm, "module_")
    return dbm.score_samples(X) - float(log_partition(dbm) if log_z is None else log_z)


def pseudo_log_likelihood(model, X):
    """Exact pseudo-log-likelihood of each row (Bernoulli visible units), a cheap monitor."""
    return _rbm(model).score_samples(X, score="pseudo_likelihood")


def reconstruction_error(model, X):
    """Mean-field reconstruction error of each row (RBM: one layer; DBN: through the stack), in model units."""
    if isinstance(model, DBN):
        return -model.score_samples(X, score="reconstruction")
    return _rbm(model).reconstruction_error(X)
