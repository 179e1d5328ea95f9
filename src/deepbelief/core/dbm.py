"""The deep Boltzmann machine (Salakhutdinov & Hinton 2009): layers v = h^0, h^1, ..., h^L, each connected to the
layers beside it and to no other.

Energy E(v, h) = E_v(v; b_0) - sum_{l>=1} b_l.h^l - sum_{l>=1} h^l W_l h^(l-1), with ``weights[l - 1]`` = W_l of
shape (n_l, n_(l-1)) (the orientation of ``RBMModule.weight``) and ``biases[l]`` = b_l. Hidden units are Bernoulli,
visible units Bernoulli or Gaussian with unit variance. Given the even layers the odd ones are independent, and the
other way round: Gibbs sampling and mean-field inference update one parity at a time, and the estimates sum the
odd layers out in closed form. Pure math: no optimizer, no I/O.

With ``n_labels`` = K a layer of K softmax (one-hot) label units y sits above the top hidden layer, coupled to it
alone (the label DBM of Salakhutdinov & Hinton's MNIST code): energy terms -c.y - h^L U y with ``weights[L]`` = U
of shape (K, n_L) and ``biases[L + 1]`` = c. In every loop over the layers it is layer L + 1 of the chain, so the
parity rules hold unchanged; its mean-field update is a softmax and its entropy a categorical one.
"""
import torch
from torch import nn

from .rbm import RBMModule
from .units import SOFTMAX as _SOFTMAX, get_units

_BERNOULLI = get_units("bernoulli")


class DBMModule(nn.Module):
    """Deep Boltzmann machine with layer sizes ``sizes`` = (n_visible, n_1, ..., n_L), L >= 1.

    Parameters
    ----------
    sizes : sequence of int
    visible : {'bernoulli', 'gaussian'}
    dtype, device : torch dtype and device of the parameters.
    n_labels : int >= 2 or None
        Softmax label units above the top hidden layer (the chain's last layer; see the module docstring).
    """

    def __init__(self, sizes, visible="bernoulli", dtype=torch.float32, device=None, n_labels=None):
        super().__init__()
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"a DBM needs a visible and at least one hidden layer of >= 1 units; got sizes {sizes}")
        self.visible = get_units(visible) if isinstance(visible, str) else visible
        if self.visible.name not in ("bernoulli", "gaussian"):
            raise ValueError(f"a DBM takes Bernoulli or Gaussian visible units, not {self.visible.name!r}")
        if n_labels is not None and int(n_labels) < 2:
            raise ValueError(f"a DBM's label layer needs n_labels >= 2; got {n_labels}")
        self.n_labels = None if n_labels is None else int(n_labels)
        sizes = sizes + ([self.n_labels] if self.n_labels else [])
        kw = dict(dtype=dtype, device=device)
        # Updates are hand-computed (the PCD statistics are no loss's gradient), so autograd stays off.
        self.weights = nn.ParameterList(nn.Parameter(torch.zeros(n_out, n_in, **kw), requires_grad=False)
                                        for n_in, n_out in zip(sizes, sizes[1:]))
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(n, **kw), requires_grad=False) for n in sizes)

    @property
    def sizes(self):
        """The sizes of the chain's layers, v first (the label layer last, if any)."""
        return [b.shape[0] for b in self.biases]

    @property
    def n_layers(self):
        """The number of layers above v in the chain: L hidden layers, plus the label layer if any."""
        return len(self.weights)

    @property
    def n_hidden_layers(self):
        """The number of hidden layers L."""
        return len(self.weights) - (self.n_labels is not None)

    @property
    def label_layer(self):
        """The label layer's index in the chain (L + 1), or None."""
        return len(self.weights) if self.n_labels is not None else None

    def extra_repr(self):
        labels = f", {self.n_labels} softmax label units on top" if self.n_labels else ""
        return f"{'-'.join(map(str, self.sizes[:self.n_hidden_layers + 1]))}, {self.visible.name} visible{labels}"

    def units(self, layer):
        if layer == 0:
            return self.visible
        return _SOFTMAX if layer == self.label_layer else _BERNOULLI

    def _log_sum(self, layer, pre):
        """log of the sum over the states of hidden or label layer ``layer`` of exp(pre.h), one value per row."""
        return torch.logsumexp(pre, -1) if layer == self.label_layer else torch.nn.functional.softplus(pre).sum(-1)

    def clamp_labels(self, mean, labels):
        """``mean`` of the label layer with the rows of ``labels`` (one-hot; an all-zero row: unknown) put in."""
        if labels is None:
            return mean
        return torch.where(labels.sum(-1, keepdim=True) > 0, labels, mean)

    # conditionals -------------------------------------------------------------------------------
    def pre(self, layer, states):
        """Pre-activation b_l + W_l h^(l-1) + W_(l+1)^T h^(l+1) of layer ``layer`` given its neighbours in
        ``states`` (one tensor per layer, v first; only the neighbours are read), shape (n, n_l)."""
        out = self.biases[layer]
        if layer > 0:
            out = out + states[layer - 1] @ self.weights[layer - 1].t()
        if layer < self.n_layers:
            out = out + states[layer + 1] @ self.weights[layer]
        return out

    def sample_layer(self, layer, states, generator):
        """(E[h^l | neighbours], a sample of it) for layer ``layer`` given ``states``."""
        pre = self.pre(layer, states)
        units = self.units(layer)
        mean = units.mean(pre)
        return mean, units.sample(pre, mean, generator)

    def gibbs(self, states, n_steps, generator, known=None, labels=None):
        """``n_steps`` sweeps of block Gibbs sampling: each samples the odd layers given the even ones, then the
        even ones (v included) given the odd ones.

        ``known``: None, or (mask, values) that keeps v at ``values`` where ``mask`` is False (the known entries of
        rows being denoised). ``labels``: None, or one-hot rows the label layer is clamped to.
        Returns (states, E[v | h^1] of the last sweep).
        """
        states, mean = list(states), states[0]
        if labels is not None:
            states[self.label_layer] = labels
        for _ in range(n_steps):
            for parity in (1, 0):
                for layer in range(parity, self.n_layers + 1, 2):
                    if labels is not None and layer == self.label_layer:
                        continue
                    layer_mean, states[layer] = self.sample_layer(layer, states, generator)
                    if layer == 0:
                        mean = layer_mean
            if known is not None:
                states[0] = torch.where(known[0], states[0], known[1])
        return states, mean

    def start_chains(self, n, generator):
        """``n`` fantasy particles from the biases alone: every layer sampled from its own bias, v first."""
        chains = []
        for layer, bias in enumerate(self.biases):
            units, pre = self.units(layer), bias.expand(n, -1)
            chains.append(units.sample(pre, units.mean(pre), generator))
        return chains

    # mean-field inference -----------------------------------------------------------------------
    def initial_mean_field(self, v, labels=None):
        """A bottom-up start for mean-field inference: every layer below the top gets twice its input from below,
        standing in for the input from above it will receive (the top layer has none); the label layer, if any,
        its softmax given the top hidden layer, with the known ``labels`` put in."""
        mu = [v]
        for layer, weight in enumerate(self.weights, 1):
            if layer == self.label_layer:
                mu.append(self.clamp_labels(torch.softmax(torch.addmm(self.biases[layer], mu[-1], weight.t()), -1),
                                            labels))
                continue
            scale = 1.0 if layer == self.n_layers else 2.0
            mu.append(torch.sigmoid(torch.addmm(self.biases[layer], mu[-1], weight.t(), alpha=scale)))
        return mu

    def mean_field(self, v, n_iter, damping=0.0, mu=None, labels=None):
        """The factorial posterior Q(h | v) = prod_l prod_j mu_lj^h (1 - mu_lj)^(1 - h) by fixed-point iteration of
        mu_l = sigmoid(b_l + W_l mu_(l-1) + W_(l+1)^T mu_(l+1)), mu_0 = v.

        Each iteration updates the odd layers, then the even ones; each half is an exact coordinate ascent step
        on the variational bound, so without damping the bound never decreases. ``damping`` d keeps
        mu <- d mu + (1 - d) (the update). ``mu`` (a list as returned) continues from an earlier result; None starts
        from :meth:`initial_mean_field`. ``labels`` (one-hot rows, all-zero for an unknown label) clamps the label
        layer of the rows whose label is known; the others infer it (softmax updates). Returns [v, mu_1, ..., mu_L]
        (and the label layer's means last, if any).
        """
        mu = self.initial_mean_field(v, labels) if mu is None else [v, *mu[1:]]
        for _ in range(n_iter):
            for first in (1, 2):  # the odd layers, then the even hidden layers (v stays clamped)
                for layer in range(first, self.n_layers + 1, 2):
                    update = self.units(layer).mean(self.pre(layer, mu))
                    if layer == self.label_layer:
                        update = self.clamp_labels(update, labels)
                    mu[layer] = update if not damping else torch.lerp(update, mu[layer], damping)
        return mu

    # energies and bounds ------------------------------------------------------------------------
    def energy(self, states):
        """E(v, h^1, ..., h^L), one value per row; multilinear across layers, so E of the means equals the
        expected energy under a factorial distribution with those means."""
        energy = self.visible.energy(states[0], self.biases[0])
        for layer, weight in enumerate(self.weights, 1):
            h = states[layer]
            energy = energy - h @ self.biases[layer] - ((h @ weight) * states[layer - 1]).sum(-1)
        return energy

    def mean_field_bound(self, mu):
        """The variational lower bound on log p*(v) = log p(v) + log Z: -E_Q[E(v, h)] + H(Q) for the factorial Q
        with means ``mu`` = [v, mu_1, ..., mu_L] (and the label layer's, a categorical factor), one value per row."""
        entropy = sum(_SOFTMAX.entropy(m) if layer == self.label_layer
                      else -(torch.special.xlogy(m, m) + torch.special.xlogy(1 - m, 1 - m)).sum(-1)
                      for layer, m in enumerate(mu[1:], 1))
        return -self.energy(mu) + entropy

    def even_log_marginal(self, states, beta=1.0):
        """log of the sum over the odd layers of exp(-beta E_odd-terms) given the even layers in ``states``:
        sum over odd l of sum_j softplus(beta pre_lj) (logsumexp for the label layer; every weight touches one odd
        layer, so this holds all of them; the even layers' bias terms are the caller's)."""
        return sum(self._log_sum(layer, beta * self.pre(layer, states)) for layer in range(1, self.n_layers + 1, 2))

    def odd_log_marginal(self, states):
        """log p*(odd layers) with v and the even hidden layers summed (integrated) out, given the odd layers in
        ``states``: b_odd.h_odd + log-marginal of v + sum over even hidden l of sum_j softplus(pre_lj)."""
        return self.visible.log_marginal(self.pre(0, states), self.biases[0]) + self._hidden_terms(states)

    def clamped_odd_log_marginal(self, v, states):
        """log p*(v, odd layers) with the even hidden layers summed out, given the odd layers in ``states``."""
        return (-self.visible.energy(v, self.biases[0]) + ((states[1] @ self.weights[0]) * v).sum(-1)
                + self._hidden_terms(states))

    def _hidden_terms(self, states):
        """b_l.h^l of the odd hidden layers in ``states`` plus the even hidden layers summed out given them."""
        total = 0.0
        for layer in range(1, self.n_layers + 1):
            if layer % 2:
                total = total + states[layer] @ self.biases[layer]
            else:
                total = total + self._log_sum(layer, self.pre(layer, states))
        return total


class ScaledRBMModule(RBMModule):
    """An RBM of the greedy pretraining of a DBM (Salakhutdinov & Hinton 2009): its hidden units get ``up`` times
    the input from below and its visible units ``down`` times the input from above. The bottom RBM has up=2 (the
    DBM's h^1 hears h^2 as well as v), the top one down=2; composed into the DBM they keep their weights, and the
    RBMs between them (trained plainly) give half of theirs, so that every DBM layer gets about the input its RBM
    was trained with. The top RBM of a label DBM has label units (``LabelledUnits``) beside its data units: only the
    data units get the doubled input (in the DBM the labels hear the top layer alone)."""

    def __init__(self, *args, up=1.0, down=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.up, self.down = float(up), float(down)

    def extra_repr(self):
        return f"{super().extra_repr()}, input from below x{self.up:g}, from above x{self.down:g}"

    def pre_h(self, v):
        return torch.addmm(self.hidden_bias, v, self.weight.t(), alpha=self.up).to(self.weight.dtype)

    def pre_v(self, h):
        n = getattr(self.visible, "n_features", None)
        if n is None or self.down == 1.0:
            return torch.addmm(self.visible_bias, h, self.weight, alpha=self.down).to(self.weight.dtype)
        top_down = (h @ self.weight).to(self.weight.dtype)
        return torch.cat([self.down * top_down[..., :n], top_down[..., n:]], -1) + self.visible_bias


def pretraining_scales(n_layers):
    """(up, down, composing factor) of the RBM of each of ``n_layers`` hidden layers, bottom to top."""
    if n_layers == 1:
        return [(1.0, 1.0, 1.0)]
    return [(2.0, 1.0, 1.0)] + [(1.0, 1.0, 0.5)] * (n_layers - 2) + [(1.0, 2.0, 1.0)]


@torch.no_grad()
def compose(rbms, dbm):
    """Set the DBM ``dbm``'s parameters from its pretrained RBM modules (bottom to top, sized alike): each weight
    times its composing factor (:func:`pretraining_scales`); b_0 the bottom RBM's visible bias, b_L the top RBM's
    hidden bias, and a layer between two RBMs the mean of the lower one's hidden and the upper one's visible bias
    (both were fitted to its full input). A label DBM's label weights and biases are the top RBM's (a label RBM)."""
    L, sizes = len(rbms), dbm.sizes
    for index, (rbm, (_, _, factor)) in enumerate(zip(rbms, pretraining_scales(L))):
        dbm.weights[index].copy_(rbm.weight[:, :sizes[index]] * factor)
    dbm.biases[0].copy_(rbms[0].visible_bias[:sizes[0]])
    dbm.biases[L].copy_(rbms[-1].hidden_bias)
    for layer in range(1, L):
        dbm.biases[layer].copy_(0.5 * (rbms[layer - 1].hidden_bias + rbms[layer].visible_bias[:sizes[layer]]))
    if dbm.n_labels is not None:
        dbm.weights[L].copy_(rbms[-1].weight[:, sizes[L - 1]:].t())
        dbm.biases[L + 1].copy_(rbms[-1].visible_bias[sizes[L - 1]:])
