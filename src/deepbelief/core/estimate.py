"""Likelihood estimates: exact log-partition by enumeration, pseudo-likelihood, reconstruction error."""
import math

import torch
import torch.nn.functional as F

from .units import draw

MAX_ENUMERATED_UNITS = 24


def binary_states(n, dtype=torch.float32, device=None):
    """All 2^n binary vectors of length n, shape (2^n, n), in counting order."""
    codes = torch.arange(2**n, device=device)
    bits = 2 ** torch.arange(n - 1, -1, -1, device=device)
    return ((codes[:, None] & bits) > 0).to(dtype)


def log_partition_exact(rbm, chunk=1 << 16):
    """log Z = log sum_{v,h} exp(-E(v, h)), exactly, by enumerating the smaller binary layer.

    The other layer is summed (Bernoulli) or integrated (Gaussian) out in closed form, so the cost
    is 2^min(n_visible, n_hidden) free-energy evaluations.

    Raises
    ------
    ValueError if the enumerated layer has more than ``MAX_ENUMERATED_UNITS`` units.
    """
    candidates = []
    if rbm.hidden.binary:
        candidates.append((rbm.n_hidden, rbm.free_energy_hidden))
    if rbm.visible.binary:
        candidates.append((rbm.n_visible, rbm.free_energy))
    if not candidates:
        raise ValueError("exact log Z needs at least one binary layer to enumerate")
    n, free_energy = min(candidates, key=lambda c: c[0])
    if n > MAX_ENUMERATED_UNITS:
        raise ValueError(f"exact log Z would enumerate 2^{n} states; at most 2^{MAX_ENUMERATED_UNITS} are allowed. "
                         "Use an AIS estimate for a model of this size")
    w = rbm.weight
    with torch.no_grad():
        states = binary_states(n, dtype=w.dtype, device=w.device)
        parts = [torch.logsumexp(-free_energy(s), 0) for s in states.split(chunk)]
        return torch.logsumexp(torch.stack(parts), 0)


def log_likelihood_exact(rbm, v):
    """log P(v) = -F(v) - log Z for each row of v (exact; small models only)."""
    with torch.no_grad():
        return -rbm.free_energy(v) - log_partition_exact(rbm)


def pseudo_log_likelihood(rbm, v, chunk=256):
    """Pseudo-log-likelihood sum_i log P(v_i | v_-i) per row, Bernoulli visible units.

    Flipping bit i moves the hidden pre-activations by (1 - 2 v_i) W[:, i], so all n_visible
    conditionals cost one (n, n_visible, n_hidden) evaluation, done in row chunks:
    log P(v_i | v_-i) = -softplus(F(v) - F(v with bit i flipped)).
    """
    if not rbm.visible.binary:
        raise ValueError("the pseudo-log-likelihood here is defined for Bernoulli visible units only")
    out = []
    with torch.no_grad():
        for rows in v.split(chunk):
            sign = 1.0 - 2.0 * rows  # +1 where the bit turns on, -1 where it turns off
            pre = rbm.pre_h(rows)  # (n, H)
            pre_flip = pre[:, None, :] + sign[:, :, None] * rbm.weight.t()[None]  # (n, D, H)
            # F(flip) - F(v) = -a_i s_i - sum_j [softplus(pre_flip) - softplus(pre)]
            delta = -sign * rbm.visible_bias - (F.softplus(pre_flip) - F.softplus(pre)[:, None, :]).sum(-1)
            out.append(-F.softplus(-delta).sum(-1))
    return torch.cat(out)


def reconstruction_error(rbm, v):
    """Mean-field reconstruction error per row: sum_i (v_i - E[v_i | E[h | v]])^2."""
    with torch.no_grad():
        return ((v - rbm.mean_v_given_h(rbm.prob_h_given_v(v))) ** 2).sum(-1)


def default_betas(dtype=torch.float64, device=None):
    """The inverse temperatures of Salakhutdinov & Murray (2008): steps of 1e-3 from 0 to 0.5, 1e-4 to 0.9 and
    1e-5 to 1.0 (14,501 values)."""
    parts = [torch.linspace(0.0, 0.5, 501, dtype=dtype, device=device)[:-1],
             torch.linspace(0.5, 0.9, 4001, dtype=dtype, device=device)[:-1],
             torch.linspace(0.9, 1.0, 10001, dtype=dtype, device=device)]
    return torch.cat(parts)


class _VisiblePath:
    """The visible part of the AIS path from a base model with visible biases (Bernoulli) or means (Gaussian, unit
    variance) ``base`` and no other terms to a model with visible biases ``a``: p_beta(v) ~ exp(-(1 - beta) E_A(v)
    - beta E_v(v; a)) times the model's other terms at beta."""

    def __init__(self, units, a, base, generator):
        if units.name not in ("bernoulli", "gaussian"):
            raise ValueError(f"AIS here handles Bernoulli or Gaussian visible units, not {units.name}")
        self.gaussian, self.a, self.base, self.generator = units.name == "gaussian", a, base.to(a), generator

    def mean(self, beta, input=None):
        """Visible pre-activation (Bernoulli) or mean (Gaussian) of p_beta, with ``input`` (from the layer above,
        already scaled by beta) or without."""
        mixed = (1 - beta) * self.base + beta * self.a
        return mixed if input is None else mixed + input

    def log(self, v, beta):
        """The visible part of log p*_beta(v)."""
        if not self.gaussian:
            return v @ self.mean(beta)
        m = self.mean(beta)
        constant = 0.5 * ((1 - beta) * (self.base @ self.base) + beta * (self.a @ self.a) - m @ m)
        return -0.5 * ((v - m) ** 2).sum(-1) - constant

    def sample(self, mean):
        a = self.a
        if self.gaussian:
            return mean + draw(torch.randn, mean.shape, self.generator, a)
        return (draw(torch.rand, mean.shape, self.generator, a) < torch.sigmoid(mean)).to(a.dtype)

    def log_z_base(self):
        """log of the sum (integral) of exp(-E_A(v)) over v."""
        if self.gaussian:
            return 0.5 * self.a.shape[0] * math.log(2 * math.pi)
        return F.softplus(self.base).sum().item()


def _checked_betas(betas):
    betas = [float(b) for b in betas]
    if betas[0] != 0.0 or betas[-1] != 1.0 or any(b1 <= b0 for b0, b1 in zip(betas, betas[1:])):
        raise ValueError("betas must increase strictly from 0 to 1")
    return betas


class RBMAnnealing:
    """The annealing path of an RBM over its data units, from a base model with visible biases (Bernoulli) or
    means (Gaussian, unit variance) ``base_bias``, no weights, every hidden unit (and label) uniform, to the RBM:
    p*_beta(x) = exp(-(1 - beta) E_A(x)) sum_{y, h} exp(-beta E(x, y, h)) (Salakhutdinov & Murray 2008), the hidden
    units and the label units (if any) summed out in closed form.

    Hidden units: Bernoulli, or rectified linear as the ``n_steps`` binary copies with offsets -i + 0.5 whose sum
    their free energy counts (sampled exactly, copy by copy). A transition is one Gibbs sweep x -> (y, h) -> x at
    the inverse temperature beta, which leaves p_beta invariant and is reversible with respect to it.
    """

    def __init__(self, rbm, base_bias, generator):
        n_labels = getattr(rbm.visible, "n_labels", None)
        visible = rbm.visible.base if n_labels else rbm.visible
        if rbm.hidden.name not in ("bernoulli", "relu"):
            raise ValueError(f"AIS needs hidden units whose tempered distribution at beta = 0 is proper: Bernoulli or "
                             f"rectified linear, not {rbm.hidden.name} (a Gaussian layer has no base distribution "
                             "when its energy is scaled to 0)")
        n = rbm.n_visible - (n_labels or 0)
        self.rbm, self.n, self.n_labels, self.generator = rbm, n, n_labels, generator
        self.path = _VisiblePath(visible, rbm.visible_bias[:n], base_bias, generator)
        self.relu = rbm.hidden.name == "relu"
        W = rbm.weight
        self.offsets = (torch.arange(rbm.hidden.n_steps, device=W.device, dtype=W.dtype) + 0.5) if self.relu else None
        copies = rbm.hidden.n_steps if self.relu else 1
        # p*_0(x) = exp(-E_A(x)) 2^(hidden units) K: at beta = 0 every hidden unit (copy) is a fair coin
        self.log_z_base = (rbm.n_hidden * copies * math.log(2.0) + (math.log(n_labels) if n_labels else 0.0)
                           + self.path.log_z_base())

    def start(self, n_runs):
        """``n_runs`` exact draws from the base model."""
        return self.path.sample(self.path.base.expand(n_runs, -1))

    def _pre(self, x):
        """Hidden pre-activations, (n, n_hidden), or with labels one row per label, (n, K, n_hidden)."""
        W, c = self.rbm.weight, self.rbm.hidden_bias
        if not self.n_labels:
            return torch.addmm(c, x, W.t())
        return torch.addmm(c, x, W[:, :self.n].t())[:, None, :] + W[:, self.n:].t()[None]

    def _hidden(self, pre, beta):
        """log sum_h exp(beta h.pre) of the hidden layer, per row (and label)."""
        if self.relu:
            return F.softplus(beta * (pre[..., None] - self.offsets)).sum((-1, -2))
        return F.softplus(beta * pre).sum(-1)

    def _label_scores(self, pre, beta):
        """log p*_beta(x, y) - the visible part, per row and label, (n, K)."""
        return beta * self.rbm.visible_bias[self.n:] + self._hidden(pre, beta)

    def log_ratio_and_step(self, x, b0, b1, b_move=None):
        """(log p*_b1(x) - log p*_b0(x), x after one transition at ``b_move``) for rows ``x``; ``b_move=None``
        skips the transition."""
        pre = self._pre(x)
        visible = self.path.log(x, b1) - self.path.log(x, b0)
        if self.n_labels:
            ratio = visible + (torch.logsumexp(self._label_scores(pre, b1), 1)
                               - torch.logsumexp(self._label_scores(pre, b0), 1))
        elif self.relu:
            ratio = visible + (F.softplus(b1 * (pre[..., None] - self.offsets))
                               - F.softplus(b0 * (pre[..., None] - self.offsets))).sum((-1, -2))
        else:  # the original order of operations, which the published AIS numbers used
            ratio = visible + (F.softplus(b1 * pre) - F.softplus(b0 * pre)).sum(-1)
        return ratio, (None if b_move is None else self._step(x, pre, b_move))

    def step(self, x, beta):
        """x after one transition at inverse temperature ``beta``."""
        return self._step(x, self._pre(x), beta)

    def draw_labels(self, x, beta):
        """One-hot labels drawn from p_beta(y | x), (n, K) (one uniform per row)."""
        p_y = torch.softmax(self._label_scores(self._pre(x), beta), 1)
        return torch.zeros_like(p_y).scatter_(1, self._categorical(p_y)[:, None], 1.0)

    def _categorical(self, p):
        u = draw(torch.rand, (p.shape[0], 1), self.generator, p)
        return (p.cumsum(1) < u).sum(1).clamp_max_(p.shape[1] - 1)

    def _step(self, x, pre, beta):
        W, g = self.rbm.weight, self.generator
        if self.n_labels:  # the label given x, then the hidden units given x and the label
            y = self._categorical(torch.softmax(self._label_scores(pre, beta), 1))
            pre = pre[torch.arange(pre.shape[0], device=W.device), y]
        if self.relu:
            p = torch.sigmoid(beta * (pre[..., None] - self.offsets))
            h = (draw(torch.rand, p.shape, g, W) < p).to(W.dtype).sum(-1)
        else:
            h = (draw(torch.rand, pre.shape, g, W) < torch.sigmoid(beta * pre)).to(W.dtype)
        return self.path.sample(self.path.mean(beta, beta * (h @ W[:, :self.n])))

    def log_p(self, x, beta):
        """log p*_beta(x), per row (at beta = 1 the RBM's -F(x), the labels summed out)."""
        pre = self._pre(x)
        if self.n_labels:
            return self.path.log(x, beta) + torch.logsumexp(self._label_scores(pre, beta), 1)
        return self.path.log(x, beta) + self._hidden(pre, beta)


def ais_log_weights(rbm, n_runs, betas, base_bias, generator):
    """Log importance weights of ``n_runs`` parallel AIS runs along :class:`RBMAnnealing` (Salakhutdinov & Murray
    2008): log Z = log Z_A + log mean(exp(log_weights)), an unbiased estimate of Z (so on average log Z is
    underestimated). Returns (log_weights, log Z_A)."""
    anneal = RBMAnnealing(rbm, base_bias, generator)
    betas = _checked_betas(betas)
    with torch.no_grad():
        v = anneal.start(n_runs)
        log_w = torch.zeros(n_runs, dtype=rbm.weight.dtype, device=rbm.weight.device)
        for k in range(1, len(betas)):
            b0, b1 = betas[k - 1], betas[k]
            ratio, moved = anneal.log_ratio_and_step(v, b0, b1, b1 if k < len(betas) - 1 else None)
            log_w += ratio
            v = v if moved is None else moved
    return log_w, anneal.log_z_base


def raise_log_likelihood(rbm, x, n_runs, betas, base_bias, generator):
    """Reverse annealed importance sampling (RAISE, Burda, Grosse & Salakhutdinov 2015): a stochastic lower
    bound on log p_ann(x) for each row of ``x``, p_ann the model of a forward annealing run along
    :class:`RBMAnnealing` (base draw, then one transition at each beta_1..beta_K = 1), which tends to the RBM as
    the betas are refined.

    From x_K = x the transitions (reversible, so their own reversals) run down the betas: x_{k-1} ~ T_k(. | x_k),
    and log w = -F(x) - log Z_A + sum_{k=0}^{K-1} [log p*_k(x_k) - log p*_{k+1}(x_k)] has E[w] = p_ann(x); the
    estimate is log mean(w) over ``n_runs`` runs per row, which underestimates log p_ann(x) on average.

    Returns log-likelihood estimates of shape (n_rows,) and the per-run log weights (n_rows, n_runs).
    """
    anneal = RBMAnnealing(rbm, base_bias, generator)
    betas = _checked_betas(betas)
    with torch.no_grad():
        runs = x.repeat_interleave(n_runs, 0)
        log_w = anneal.log_p(runs, 1.0) - anneal.log_z_base
        # x_{K-1} ~ T_K(. | x); then at each x_{k-1}: its ratio and the next transition, at beta_{k-1}
        v = anneal.log_ratio_and_step(runs, betas[-2], betas[-1], betas[-1])[1]
        for k in range(len(betas) - 1, 0, -1):
            ratio, moved = anneal.log_ratio_and_step(v, betas[k - 1], betas[k], betas[k - 1] if k > 1 else None)
            log_w -= ratio
            v = moved
        log_w = log_w.reshape(x.shape[0], n_runs)
    return torch.logsumexp(log_w, 1) - math.log(n_runs), log_w


def dbm_ais_log_weights(dbm, n_runs, betas, base_bias, generator):
    """Log importance weights of ``n_runs`` parallel AIS runs from a base model (visible biases or means
    ``base_bias``, every hidden unit a fair coin, a label layer uniform over its K states) to the DBM ``dbm``
    (Salakhutdinov & Hinton 2009).

    The runs move the even layers (v, h^2, ...) through p_k ~ exp(-(1 - beta_k) E_A(v)) sum_odd exp(-beta_k E);
    the odd layers are summed out in closed form, which for two hidden layers leaves AIS on (v, h^2) only. The
    transitions sample the odd layers given the even ones at beta_k, then the even ones. Returns (log_weights,
    log Z_A).
    """
    path = _VisiblePath(dbm.visible, dbm.biases[0], base_bias, generator)
    labels = dbm.label_layer
    log_z_base = sum(dbm.sizes[1:labels]) * math.log(2.0) + path.log_z_base()
    if labels is not None:
        log_z_base += math.log(dbm.n_labels)
    betas = _checked_betas(betas)
    even = range(2, dbm.n_layers + 1, 2)
    W = dbm.weights[0]

    def log_p(states, beta):
        """log p*_beta of the even layers in ``states``, odd layers summed out."""
        return (path.log(states[0], beta) + sum(beta * (states[layer] @ dbm.biases[layer]) for layer in even)
                + dbm.even_log_marginal(states, beta))

    def coins(n):
        return (torch.rand(n_runs, n, generator=generator, device=W.device, dtype=W.dtype) < 0.5).to(W.dtype)

    def base_state(layer, n):
        if layer != labels:
            return coins(n)
        return dbm.units(layer).sample(None, W.new_full((n_runs, n), 1.0 / n), generator)

    with torch.no_grad():
        states = [path.sample(path.base.expand(n_runs, -1)),
                  *(base_state(layer, n) for layer, n in enumerate(dbm.sizes[1:], 1))]
        log_w = torch.zeros(n_runs, dtype=W.dtype, device=W.device)
        for k in range(1, len(betas)):
            b0, b1 = betas[k - 1], betas[k]
            log_w += log_p(states, b1) - log_p(states, b0)
            if k == len(betas) - 1:
                break
            # a Gibbs sweep that leaves p_k invariant: the odd layers, then the even ones, at inverse temperature b1
            for first in (1, 2):
                for layer in range(first, dbm.n_layers + 1, 2):
                    if layer == labels:
                        units = dbm.units(layer)
                        states[layer] = units.sample(None, units.mean(b1 * dbm.pre(layer, states)), generator)
                        continue
                    p = torch.sigmoid(b1 * dbm.pre(layer, states))
                    states[layer] = (torch.rand(p.shape, generator=generator, device=W.device, dtype=W.dtype)
                                     < p).to(W.dtype)
            states[0] = path.sample(path.mean(b1, b1 * (states[1] @ W)))
    return log_w, log_z_base


def _odd_states(dbm):
    """Every joint state of the DBM's odd layers, as [None, h^1, None, h^3, ...] (the even slots unused); an odd
    label layer takes its K one-hot states."""
    odd = [layer for layer in range(1, dbm.n_layers + 1, 2) if layer != dbm.label_layer]
    n = sum(dbm.sizes[layer] for layer in odd)
    labels = dbm.n_labels if dbm.label_layer is not None and dbm.label_layer % 2 else 1
    if n + math.log2(labels) > MAX_ENUMERATED_UNITS:
        raise ValueError(f"exact DBM estimates would enumerate 2^{n} states of the odd layers; at most "
                         f"2^{MAX_ENUMERATED_UNITS} are allowed. Use an AIS estimate for a model of this size")
    W = dbm.weights[0]
    joint = binary_states(n, dtype=W.dtype, device=W.device)
    if labels > 1:  # every binary state with every label
        eye = torch.eye(labels, dtype=W.dtype, device=W.device)
        joint = torch.cat([joint.repeat_interleave(labels, 0), eye.repeat(joint.shape[0], 1)], 1)
        odd.append(dbm.label_layer)
    parts = joint.split([dbm.sizes[layer] for layer in odd], dim=1)
    states = [None] * (dbm.n_layers + 1)
    for layer, part in zip(odd, parts):
        states[layer] = part
    return states


def dbm_log_partition_exact(dbm):
    """log Z of a DBM, exactly: the odd layers enumerated, v and the even hidden layers summed (or integrated)
    out in closed form (small models only)."""
    with torch.no_grad():
        return torch.logsumexp(dbm.odd_log_marginal(_odd_states(dbm)), 0)


def dbm_log_unnormalized_exact(dbm, v):
    """log p*(v) = log sum_h exp(-E(v, h)) for each row of v, exactly (small models only); log p(v) = this - log Z."""
    with torch.no_grad():
        odd = _odd_states(dbm)
        rows = [torch.logsumexp(dbm.clamped_odd_log_marginal(row[None], odd), 0) for row in v]
        return torch.stack(rows) if rows else v.new_zeros(0)


def _log_conditional(units, x, pre):
    """log P(x | pre) of a layer of independent units given their pre-activations, one value per row."""
    if units.name == "bernoulli":
        return (x * pre - F.softplus(pre)).sum(-1)
    if units.name == "gaussian":
        return (-0.5 * (x - pre) ** 2).sum(-1) - 0.5 * x.shape[-1] * math.log(2 * math.pi)
    raise ValueError(f"the DBN bound needs Bernoulli or Gaussian units in the directed layers, not {units.name}")


def dbn_log_likelihood_bound(dbn, v, log_z_top, n_samples, generator):
    """Monte Carlo estimate of the variational lower bound on log p(v) of a DBN, one value per row.

    With the factorial recognition distribution Q(h^1..h^{L-1} | v) of a stochastic bottom-up pass (Hinton,
    Osindero & Teh 2006; Salakhutdinov & Murray 2008):
    log p(v) >= E_Q[ sum_l log p(h^{l-1} | h^l) + log p*(h^{L-1}) - log Q(h | v) ] - log Z_top,
    where p(h^{l-1} | h^l) are the directed layers, p* = exp(-F_top) the top RBM's unnormalised marginal of its
    visible layer and ``log_z_top`` its log partition function. The expectation is averaged over ``n_samples``
    draws. For a one-layer DBN this is the exact log-likelihood.
    """
    top = dbn.rbms[-1]
    if getattr(top.visible, "n_features", None) is not None:
        raise ValueError("the DBN bound is not defined here for a top RBM with label units")
    total = torch.zeros(v.shape[0], dtype=v.dtype, device=v.device)
    with torch.no_grad():
        for _ in range(n_samples):
            below, bound = v, torch.zeros_like(total)
            for index, rbm in enumerate(dbn.rbms[:-1]):
                if rbm.hidden.name != "bernoulli":
                    raise ValueError("the DBN bound needs Bernoulli hidden units")
                up = rbm.pre_h(below)
                h = (torch.rand(up.shape, generator=generator, device=up.device, dtype=up.dtype)
                     < torch.sigmoid(up)).to(up.dtype)
                layer = dbn._down_layer(index)
                down = torch.addmm(layer.visible_bias, h, layer.weight)
                log_q = (h * up - F.softplus(up)).sum(-1)  # log Q(h | below) of factorial Bernoulli units
                bound += _log_conditional(layer.visible, below, down) - log_q
                below = h
            total += bound - top.free_energy(below)
    return total / n_samples - log_z_top
