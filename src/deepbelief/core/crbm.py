"""The conditional RBM (Taylor, Hinton & Roweis 2007): an RBM over one frame whose biases depend on earlier frames.

Given the history u_t = [v_{t-1}, v_{t-2}, ..., v_{t-order}] (``order * n_visible`` values, newest frame first),
the frame v_t and the hidden units h form an RBM with the dynamic biases

    a_t = a + A u_t    (``autoregressive`` weights A, shape (n_visible, n_history))
    b_t = b + B u_t    (``past_hidden`` weights B, shape (n_hidden, n_history)),

so E(v_t, h | u_t) = E_v(v_t; a_t) + E_h(h; b_t) - h.W.v_t. With A = B = 0 it is the plain RBM. A training row is
the frame followed by its history, [v_t, u_t], so that the CD trainer of the plain RBM serves both.
"""
import torch
from torch import nn

from .rbm import CDStatistics
from .units import get_units


class ConditionalRBMModule(nn.Module):
    """Conditional RBM with Gaussian or Bernoulli visible units.

    Parameters
    ----------
    n_visible, n_hidden : int
        Frame size and number of hidden units.
    order : int
        Number of earlier frames the model is conditioned on.
    visible, hidden : {'bernoulli', 'gaussian', 'relu'}
    dtype, device : torch dtype and device of the parameters.
    """

    def __init__(self, n_visible, n_hidden, order, visible="gaussian", hidden="bernoulli", dtype=torch.float32,
                 device=None):
        super().__init__()
        self.visible, self.hidden, self.order = get_units(visible), get_units(hidden), order
        kw = dict(dtype=dtype, device=device)

        def parameter(*shape):  # CD updates are hand-computed, so autograd stays off
            return nn.Parameter(torch.zeros(*shape, **kw), requires_grad=False)

        self.weight = parameter(n_hidden, n_visible)
        self.visible_bias = parameter(n_visible)
        self.hidden_bias = parameter(n_hidden)
        self.autoregressive = parameter(n_visible, order * n_visible)
        self.past_hidden = parameter(n_hidden, order * n_visible)

    @property
    def n_visible(self):
        return self.weight.shape[1]

    @property
    def n_hidden(self):
        return self.weight.shape[0]

    def extra_repr(self):
        return f"{self.n_visible} {self.visible.name} -> {self.n_hidden} {self.hidden.name}, order {self.order}"

    def cd_parameters(self):
        """The parameters CD updates, in the order of the gradients of :meth:`cd_statistics`."""
        return self.weight, self.visible_bias, self.hidden_bias, self.autoregressive, self.past_hidden

    def split(self, rows):
        """Training rows [v_t, u_t] -> (v_t of shape (n, n_visible), u_t of shape (n, order * n_visible))."""
        return rows[:, : self.n_visible], rows[:, self.n_visible:]

    # conditionals given the history ----------------------------------------------------------
    def dynamic_biases(self, u):
        """(a_t, b_t) = (a + u A^T, b + u B^T), shapes (n, n_visible) and (n, n_hidden)."""
        dtype = self.weight.dtype  # under autocast (precision='bfloat16') the products come back in bfloat16
        return (torch.addmm(self.visible_bias, u, self.autoregressive.t()).to(dtype),
                torch.addmm(self.hidden_bias, u, self.past_hidden.t()).to(dtype))

    def pre_h(self, v, b_t):
        """Hidden pre-activations b_t + v W^T."""
        return torch.addmm(b_t, v, self.weight.t()).to(self.weight.dtype)

    def pre_v(self, h, a_t):
        """Visible pre-activations a_t + h W."""
        return torch.addmm(a_t, h, self.weight).to(self.weight.dtype)

    def prob_h_given_v(self, v, b_t):
        """E[h | v_t, u_t]."""
        return self.hidden.mean(self.pre_h(v, b_t))

    def mean_v_given_h(self, h, a_t):
        """E[v_t | h, u_t]."""
        return self.visible.mean(self.pre_v(h, a_t))

    def sample_h_given_v(self, v, b_t, generator):
        """(E[h | v_t, u_t], a sample of h)."""
        pre = self.pre_h(v, b_t)
        ph = self.hidden.mean(pre)
        return ph, self.hidden.sample(pre, ph, generator)

    def sample_v_given_h(self, h, a_t, generator):
        """(E[v_t | h, u_t], a sample of v_t)."""
        pre = self.pre_v(h, a_t)
        mv = self.visible.mean(pre)
        return mv, self.visible.sample(pre, mv, generator)

    def free_energy(self, rows):
        """F(v_t | u_t) = E_v(v_t; a_t) - log sum_h exp(pre_h . h), one value per training row [v_t, u_t]."""
        v, u = self.split(rows)
        a_t, b_t = self.dynamic_biases(u)
        return self.visible.energy(v, a_t) - self.hidden.log_marginal(self.pre_h(v, b_t), b_t)

    # frames --------------------------------------------------------------------------------------
    def sample_frame(self, u, v_init, n_gibbs, generator):
        """A frame drawn for each history row of ``u`` (n, n_history): ``n_gibbs`` alternating Gibbs steps from
        ``v_init`` (n, n_visible) with the history clamped, ending in E[v_t | h] (the sampled h's mean frame, so
        that no pixel noise accumulates along a generated sequence). As in Taylor et al.'s generation, hidden
        units are sampled and real-valued visible units take their means at every step: their unit-variance
        noise would dwarf the frame-to-frame changes of standardised data."""
        a_t, b_t = self.dynamic_biases(u)
        v = v_init
        for _ in range(n_gibbs):
            _, h = self.sample_h_given_v(v, b_t, generator)
            mv, v = self.sample_v_given_h(h, a_t, generator)
            if not self.visible.binary:  # real-valued frames stay at their means, as in training
                v = mv
        return mv

    def mean_field_frame(self, u, v_init, n_iter):
        """The deterministic prediction of v_t from the history ``u``: ``n_iter`` mean-field updates
        v <- E[v | h = E[h | v, u], u] from ``v_init``."""
        a_t, b_t = self.dynamic_biases(u)
        v = v_init
        for _ in range(n_iter):
            v = self.mean_v_given_h(self.prob_h_given_v(v, b_t), a_t)
        return v

    # learning statistics -------------------------------------------------------------------------
    def cd_statistics(self, rows, k, generator, chain=None, out=None):
        """CD-k statistics on training rows [v_t, u_t]; the history stays clamped in the negative phase.

        The updates of W, a and b are those of the plain RBM with the dynamic biases; the dynamic-bias weights
        follow from them by the chain rule: dA = (v_t - v_k)^T u_t and dB = (E[h|v_t] - E[h|v_k])^T u_t, as
        batch means. As in :meth:`RBMModule.cd_statistics` nothing is differentiated through the chain.
        Persistent chains are not defined here (each row has its own history), so ``chain`` must be None.
        ``out``: reused for ``grad_weight``, as in :meth:`RBMModule.cd_statistics`.
        """
        if chain is not None:
            raise ValueError("a conditional RBM trains with CD-k; persistent chains are not supported")
        v0, u = self.split(rows)
        a_t, b_t = self.dynamic_biases(u)
        ph0, h0 = self.sample_h_given_v(v0, b_t, generator)
        pre_v = self.pre_v(h0, a_t)
        mv0 = self.visible.mean(pre_v)
        squared_error = ((v0 - mv0) ** 2).sum()
        # Real-valued frames are reconstructed by their means, as Taylor et al. do: the unit-variance noise would
        # swamp the small frame-to-frame changes that the dynamic biases must learn.
        mean_field = not self.visible.binary
        vk = mv0 if mean_field else self.visible.sample(pre_v, mv0, generator)
        for _ in range(k - 1):
            _, h = self.sample_h_given_v(vk, b_t, generator)
            mv, vk = self.sample_v_given_h(h, a_t, generator)
            vk = mv if mean_field else vk
        phk = self.prob_h_given_v(vk, b_t)

        n, dtype = v0.shape[0], rows.dtype
        dv, dh = v0 - vk, ph0 - phk
        if torch.is_autocast_enabled(rows.device.type):  # bfloat16 products, summed in full precision
            grad_weight = ((ph0.t() @ v0).to(dtype) - (phk.t() @ vk).to(dtype)) / n
            extra = ((dv.t() @ u).to(dtype) / n, (dh.t() @ u).to(dtype) / n)
        else:
            grad_weight = torch.mm(ph0.t(), v0, out=out) if out is not None else ph0.t() @ v0
            grad_weight.addmm_(phk.t(), vk, alpha=-1.0).div_(n)
            extra = (dv.t() @ u / n, dh.t() @ u / n)
        hidden_mean = ph0.mean(0)
        return CDStatistics(grad_weight, dv.mean(0), dh.mean(0), vk, hidden_mean, squared_error, extra=extra)
