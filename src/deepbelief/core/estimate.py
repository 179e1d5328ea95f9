"""Likelihood estimates: exact log-partition by enumeration, pseudo-likelihood, reconstruction error."""
import torch
import torch.nn.functional as F

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
