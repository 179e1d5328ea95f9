"""The restricted Boltzmann machine: energy, conditionals, Gibbs steps, CD statistics.

Energy E(v, h) = E_v(v; a) + E_h(h; b) - h.W.v with ``weight`` W of shape (n_hidden, n_visible),
``visible_bias`` a and ``hidden_bias`` b. For Bernoulli units E_v = -a.v, so with binary layers
this is the textbook E(v, h) = -a.v - b.h - v^T W^T h. Pure math: no optimizer, no I/O.
"""
from dataclasses import dataclass

import torch
from torch import nn

from .units import get_units


@dataclass
class CDStatistics:
    """What one contrastive-divergence step measured on a batch."""

    grad_weight: torch.Tensor  # (n_hidden, n_visible): <h v>_data - <h v>_model, as batch means
    grad_visible_bias: torch.Tensor  # (n_visible,)
    grad_hidden_bias: torch.Tensor  # (n_hidden,)
    chain: torch.Tensor  # (batch, n_visible): the visible state at the end of the negative chain
    hidden_mean: torch.Tensor  # (n_hidden,): batch mean of P(h=1|v0), for the sparsity target
    squared_error: torch.Tensor  # scalar: sum of (v0 - E[v | h0])^2, the reconstruction monitor
    extra: tuple = ()  # gradients of further parameters (a conditional RBM's dynamic-bias weights)


class RBMModule(nn.Module):
    """Restricted Boltzmann machine with Bernoulli or Gaussian units.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    visible, hidden : {'bernoulli', 'gaussian', 'relu'} or a unit object (e.g. ``LabelledUnits``)
        Unit types. Gaussian units have unit variance.
    dtype, device : torch dtype and device of the parameters.
    """

    def __init__(self, n_visible, n_hidden, visible="bernoulli", hidden="bernoulli", dtype=torch.float32,
                 device=None):
        super().__init__()
        self.visible = get_units(visible) if isinstance(visible, str) else visible
        self.hidden = get_units(hidden) if isinstance(hidden, str) else hidden
        # Updates are hand-computed (CD is not the gradient of any loss), so autograd stays off.
        kw = dict(dtype=dtype, device=device)
        self.weight = nn.Parameter(torch.zeros(n_hidden, n_visible, **kw), requires_grad=False)
        self.visible_bias = nn.Parameter(torch.zeros(n_visible, **kw), requires_grad=False)
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden, **kw), requires_grad=False)

    @property
    def n_visible(self):
        return self.weight.shape[1]

    @property
    def n_hidden(self):
        return self.weight.shape[0]

    def extra_repr(self):
        return f"{self.n_visible} {self.visible.name} -> {self.n_hidden} {self.hidden.name}"

    def cd_parameters(self):
        """The parameters CD updates, in the order of the gradients of :meth:`cd_statistics`."""
        return self.weight, self.visible_bias, self.hidden_bias

    # conditionals -------------------------------------------------------------------------------
    # Under autocast (precision='bfloat16') the products run in bfloat16 and come back to the parameters' dtype,
    # so that sampling and sums stay in full precision; otherwise .to() is a no-op.
    def pre_h(self, v):
        """Hidden pre-activations b + v W^T, shape (n, n_hidden)."""
        return torch.addmm(self.hidden_bias, v, self.weight.t()).to(self.weight.dtype)

    def pre_v(self, h):
        """Visible pre-activations a + h W, shape (n, n_visible)."""
        return torch.addmm(self.visible_bias, h, self.weight).to(self.weight.dtype)

    def prob_h_given_v(self, v):
        """E[h | v]: sigmoid(b + v W^T) for Bernoulli hidden units."""
        return self.hidden.mean(self.pre_h(v))

    def mean_v_given_h(self, h):
        """E[v | h]: sigmoid(a + h W) for Bernoulli, a + h W for Gaussian visible units."""
        return self.visible.mean(self.pre_v(h))

    def sample_h_given_v(self, v, generator):
        """(E[h | v], a sample h ~ P(h | v))."""
        pre = self.pre_h(v)
        ph = self.hidden.mean(pre)
        return ph, self.hidden.sample(pre, ph, generator)

    def sample_v_given_h(self, h, generator):
        """(E[v | h], a sample v ~ P(v | h))."""
        pre = self.pre_v(h)
        mv = self.visible.mean(pre)
        return mv, self.visible.sample(pre, mv, generator)

    def gibbs_vhv(self, v, generator):
        """One Gibbs step v -> h -> v'; returns (E[v' | h], v')."""
        _, h = self.sample_h_given_v(v, generator)
        return self.sample_v_given_h(h, generator)

    def gibbs_hvh(self, h, generator):
        """One Gibbs step h -> v -> h'; returns (E[h' | v], h')."""
        _, v = self.sample_v_given_h(h, generator)
        return self.sample_h_given_v(v, generator)

    # energies -----------------------------------------------------------------------------------
    def energy(self, v, h):
        """E(v, h) = E_v(v; a) + E_h(h; b) - h.W.v, one value per row."""
        return (self.visible.energy(v, self.visible_bias) + self.hidden.energy(h, self.hidden_bias)
                - ((h @ self.weight) * v).sum(-1))

    def free_energy(self, v):
        """Free energy F(v) = -log sum_h exp(-E(v, h)) = E_v(v; a) - sum_j softplus(b_j + W_j.v)."""
        return self.visible.energy(v, self.visible_bias) - self.hidden.log_marginal(self.pre_h(v), self.hidden_bias)

    def free_energy_hidden(self, h):
        """Free energy of the hidden layer, F(h) = -log sum_v exp(-E(v, h)) (integral for Gaussian v)."""
        return self.hidden.energy(h, self.hidden_bias) - self.visible.log_marginal(self.pre_v(h), self.visible_bias)

    # label units (visible units LabelledUnits: rows [x, y], y one-hot over K labels) -------------------
    def label_pre_h(self, x):
        """Hidden pre-activations b + W_x x + U_y for every label y, shape (n, n_labels, n_hidden), for data
        rows ``x`` of shape (n, n_features)."""
        n = self.visible.n_features
        return (self.hidden_bias + x @ self.weight[:, :n].t())[:, None, :] + self.weight[:, n:].t()[None]

    def label_free_energies(self, x, pre_y=None):
        """F(x, y) = E_x(x; a) - c_y - sum_j log-marginal(b + W x + U_y) for every label y, shape (n, n_labels);
        ``pre_y`` is ``label_pre_h(x)`` when the caller has it already."""
        n = self.visible.n_features
        if pre_y is None:
            pre_y = self.label_pre_h(x)
        a, c = self.visible_bias[:n], self.visible_bias[n:]
        return self.visible.base.energy(x, a)[:, None] - c[None] - self.hidden.log_marginal(pre_y, self.hidden_bias)

    def label_posterior(self, x):
        """P(y | x) = softmax_y(-F(x, y)), shape (n, n_labels)."""
        return torch.softmax(-self.label_free_energies(x), 1)

    def complete(self, x):
        """Data rows -> full visible rows [x, P(y | x)] (the label part as probabilities, which P(h | x, y)
        handles since it is linear in y)."""
        return torch.cat([x, self.label_posterior(x)], 1)

    def label_hidden_mean(self, x):
        """E[h | x] with the label unknown: sum_y P(y | x) E[h | x, y], shape (n, n_hidden)."""
        pre_y = self.label_pre_h(x)
        p_y = torch.softmax(-self.label_free_energies(x, pre_y), 1)
        return (p_y[..., None] * self.hidden.mean(pre_y)).sum(1)

    def label_free_energy(self, x):
        """Free energy of the data rows with the label summed out, -log sum_y exp(-F(x, y)), shape (n,)."""
        return -torch.logsumexp(-self.label_free_energies(x), 1)

    def discriminative_statistics(self, x, y):
        """The exact gradient of the conditional log-likelihood sum_n log P(y_n | x_n) (Larochelle & Bengio 2008),
        as batch means, for data rows ``x`` (n, n_features) and one-hot labels ``y`` (n, n_labels).

        With o_yj = b_j + W_j x + U_jy and s_yj = d log-marginal / d o_yj (sigmoid(o_yj) for Bernoulli hidden
        units), d log P(y | x) / d theta = sum_y' (1[y' = y] - P(y' | x)) d(-F(x, y')) / d theta: for b_j it is
        sum_y' (1[y' = y] - P(y' | x)) s_y'j, for W_ji that times x_i, for U_jy' (1[y' = y] - P(y' | x)) s_y'j and
        for the label bias c_y' 1[y' = y] - P(y' | x); the data units' biases cancel. No sampling. A row whose
        ``y`` is all zeros (unlabelled) contributes nothing but counts in n.

        Returns
        -------
        (grad_weight (n_hidden, n_visible), grad_visible_bias (n_visible,), grad_hidden_bias (n_hidden,),
        the summed log loss -sum_n log P(y_n | x_n), E[h | x, y] averaged over the labelled rows (n_hidden,))
        """
        pre_y = self.label_pre_h(x)  # (m, K, H)
        log_p = torch.log_softmax(-self.label_free_energies(x, pre_y), 1)
        labelled = y.sum(1, keepdim=True)
        delta = y - labelled * log_p.exp()  # (m, K); 0 for an unlabelled row (y all zeros)
        hidden_mean = (y[..., None] * self.hidden.mean(pre_y)).sum((0, 1)) / labelled.sum().clamp_min(1.0)
        return (*self._label_logit_gradient(x, pre_y, delta), -(y * log_p).sum(), hidden_mean)

    def entropy_statistics(self, x, weights, marginal=None):
        """The exact gradient of -(1/n) sum_n w_n H(P(y | x_n)), the entropy of the label posterior of each data row
        weighted by ``weights`` (n,): ascending it makes the model's predictions on those rows confident (entropy
        regularisation, Grandvalet & Bengio 2005; the unlabelled rows' term of a semi-supervised classification RBM).
        With logits s_y = -F(x, y), d(-H)/d s_y = P(y | x) (log P(y | x) + H); the rest is as in
        :meth:`discriminative_statistics`. Returns (grad_weight, grad_visible_bias, grad_hidden_bias, the summed
        weighted entropy sum_n w_n H_n).

        With ``marginal`` (K,), the weighted mean posterior pbar = sum_n w_n P(y | x_n) / W of the batch (W = sum_n
        w_n; over all ranks' rows under data parallelism), the objective gains + (W / n) H(pbar), as a function
        of these rows' posteriors: together an estimate of the mutual information between x and the label
        (Bridle, Heading & MacKay 1992; Krause, Perona & Gomes 2010), whose second term keeps the confident
        predictions spread over the classes. Its logit derivative is w_n P(y | x_n) (log(P(y | x_n) / pbar_y) -
        KL(P(. | x_n) || pbar)); the fourth value is then sum_n w_n H_n - W H(pbar)."""
        pre_y = self.label_pre_h(x)
        log_p = torch.log_softmax(-self.label_free_energies(x, pre_y), 1)
        p = log_p.exp()
        entropy = -(p * log_p).sum(1)
        value = (weights * entropy).sum()
        if marginal is None:
            delta = weights[:, None] * p * (log_p + entropy[:, None])
        else:
            log_ratio = log_p - torch.log(marginal.clamp_min(torch.finfo(marginal.dtype).tiny))
            delta = weights[:, None] * p * (log_ratio - (p * log_ratio).sum(1, keepdim=True))
            value = value + weights.sum() * torch.special.xlogy(marginal, marginal).sum()
        return (*self._label_logit_gradient(x, pre_y, delta), value)

    def _label_logit_gradient(self, x, pre_y, delta):
        """(grad_weight, grad_visible_bias, grad_hidden_bias) as batch means of sum_y delta_y d(-F(x, y)) / d theta,
        for ``delta`` (m, K) the derivative of an objective with respect to the label logits -F(x, y); the data
        units' biases get 0 (every such objective is invariant to them when delta sums to 0 over y)."""
        n, m = self.visible.n_features, x.shape[0]
        push = delta[..., None] * self.hidden.log_marginal_grad(pre_y)  # (m, K, H)
        per_row = push.sum(1)  # (m, H): the gradient with respect to the hidden pre-activations
        grad_weight = torch.cat([per_row.t() @ x, push.sum(0).t()], 1) / m
        grad_visible = torch.cat([x.new_zeros(n), delta.mean(0)])
        return grad_weight, grad_visible, per_row.mean(0)

    # learning statistics ------------------------------------------------------------------------
    def negative_phase(self, v0, k, generator, chain=None):
        """(E[h | v0], the visible state vk after k Gibbs steps from h0 ~ P(h | v0) or, for PCD, from ``chain``,
        the summed squared error of E[v | h0] against v0): what CD-k needs besides the statistics themselves."""
        ph0, h0 = self.sample_h_given_v(v0, generator)
        pre_v = self.pre_v(h0)
        mv0 = self.visible.mean(pre_v)
        squared_error = ((v0 - mv0) ** 2).sum()
        if chain is None:
            vk = self.visible.sample(pre_v, mv0, generator)
        else:
            _, vk = self.sample_v_given_h(self.sample_h_given_v(chain, generator)[1], generator)
        for _ in range(k - 1):
            _, vk = self.gibbs_vhv(vk, generator)
        return ph0, vk, squared_error

    def cd_statistics(self, v0, k, generator, chain=None, out=None):
        """Statistics of CD-k (``chain=None``) or persistent CD-k (``chain`` = the fantasy particles).

        The positive phase uses E[h | v0]; the negative phase runs k Gibbs steps from h0 ~ P(h | v0)
        (CD) or from the persistent chain (PCD) and uses the sampled visible state vk with E[h | vk].
        The result is a sample of the log-likelihood gradient direction; nothing is differentiated
        through the chain, which is cut at its end by construction (no autograd here).

        Parameters
        ----------
        v0 : tensor of shape (batch, n_visible)
        k : int, number of Gibbs steps, >= 1
        generator : torch.Generator on the parameters' device
        chain : tensor of shape (n_chains, n_visible) or None
        out : tensor of the weight's shape or None
            Reused for ``grad_weight`` (a training loop saves allocating, and first touching, a new one per update).

        Returns
        -------
        CDStatistics: positive statistics averaged over the batch rows, negative ones over the chains.
        """
        ph0, vk, squared_error = self.negative_phase(v0, k, generator, chain)
        return self.contrast(v0, ph0, vk, squared_error, out)

    def contrast(self, v0, ph0, vk, squared_error, out=None):
        """The CD statistics of data ``v0`` with E[h | v0] = ``ph0`` against negative particles ``vk`` (however
        they were sampled), with E[h | vk] under this RBM: <h v>_data - <h v>_particles and the bias terms."""
        phk = self.prob_h_given_v(vk)

        # PCD may keep more chains than a (last, short) batch has rows: average each phase separately.
        n_data, n_chains = v0.shape[0], vk.shape[0]
        if torch.is_autocast_enabled(v0.device.type):  # bfloat16 products, summed in full precision
            grad_weight = (ph0.t() @ v0).to(v0.dtype) / n_data - (phk.t() @ vk).to(v0.dtype) / n_chains
        else:
            grad_weight = torch.mm(ph0.t(), v0, out=out) if out is not None else ph0.t() @ v0
            grad_weight.addmm_(phk.t(), vk, beta=1.0 / n_data, alpha=-1.0 / n_chains)
        hidden_mean = ph0.mean(0)
        return CDStatistics(grad_weight, v0.mean(0) - vk.mean(0), hidden_mean - phk.mean(0), vk,
                            hidden_mean, squared_error)

    def weighted_cd_statistics(self, v0, weights, k, generator, chain=None):
        """CD-k (or persistent CD-k) statistics of the weighted objective (1/n) sum_r w_r log P(v_r) over the
        batch ``v0`` (n, n_visible) with row weights ``weights`` (n,): each row's positive statistics weighted by
        w_r, the negative ones by the row's own chain's (CD) or by mean(w) over the persistent chains (PCD).
        Gradients are batch means, cut at the chain end as in :meth:`cd_statistics`."""
        ph0, vk, squared_error = self.negative_phase(v0, k, generator, chain)
        phk = self.prob_h_given_v(vk)
        n_data, n_chains = v0.shape[0], vk.shape[0]
        w0 = weights[:, None]
        wk = w0 if chain is None else weights.mean().expand(n_chains, 1)
        grad_weight = (ph0 * w0).t() @ v0 / n_data - (phk * wk).t() @ vk / n_chains
        hidden_mean = ph0.mean(0)
        return CDStatistics(grad_weight, (w0 * v0).mean(0) - (wk * vk).mean(0),
                            (w0 * ph0).mean(0) - (wk * phk).mean(0), vk, hidden_mean, squared_error)
