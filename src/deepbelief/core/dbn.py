"""A deep belief network: a stack of RBMs whose hidden layer feeds the next one's visible layer.

Bottom-up (recognition) passes use P(h^l | h^(l-1)) of RBM l. Top-down (generative) passes use
P(h^(l-1) | h^l) of RBM l, i.e. RBM l's weights transposed and RBM l's visible bias.
"""
import torch
from torch import nn


@torch.no_grad()
def propagate_up(rbms, v, draws=None):
    """The rows ``v`` passed up through ``rbms`` (RBMModules, bottom to top): E[h | v] layer by layer, or with
    ``draws`` (one generator or RankDraws per RBM) samples h ~ P(h | v)."""
    for index, rbm in enumerate(rbms):
        v = rbm.prob_h_given_v(v) if draws is None else rbm.sample_h_given_v(v, draws[index])[1]
    return v


class DBNModule(nn.Module):
    """A stack of :class:`RBMModule` with matching sizes (rbm[l].n_hidden == rbm[l+1].n_visible)."""

    def __init__(self, rbms):
        super().__init__()
        rbms = list(rbms)
        for lower, upper in zip(rbms, rbms[1:]):
            n_data = getattr(upper.visible, "n_features", upper.n_visible)  # label units come on top of these
            if lower.n_hidden != n_data:
                raise ValueError(f"layer sizes do not chain: an RBM with {lower.n_hidden} hidden units is "
                                 f"followed by one with {n_data} visible units")
        self.rbms = nn.ModuleList(rbms)
        self.generative = None  # after up-down fine-tuning: untied top-down layers, see untie()

    def untie(self):
        """Give every layer below the top RBM its own generative (top-down) weights and biases, initialised as
        copies of the RBM's (weight, visible_bias); recognition keeps using the RBMs' (weight, hidden_bias)."""
        if self.generative is None:
            self.generative = nn.ModuleList(GenerativeLayer(rbm) for rbm in self.rbms[:-1])

    def _down_layer(self, index):
        """The top-down conditional of layer ``index``: its untied generative layer, or the RBM itself."""
        return self.generative[index] if self.generative is not None else self.rbms[index]

    def __len__(self):
        return len(self.rbms)

    def up(self, v, layer=-1):
        """Mean-field bottom-up pass: E[h^l | v] through RBMs 0..``layer`` (negative counts from the top)."""
        last = layer % len(self.rbms)
        h = v
        for rbm in self.rbms[: last + 1]:
            h = rbm.prob_h_given_v(h)
        return h

    def sample_down(self, h, generator, layer=-1):
        """Ancestral sampling from hidden layer ``layer`` to the visible layer through the directed layers.

        Returns the list of (mean, sample) pairs of the layers below ``layer``, top to bottom: the last pair is
        the visible layer's E[v | h^1] and its sample.
        """
        last = layer % len(self.rbms)
        steps = []
        for index in reversed(range(last + 1)):
            mean, h = self._down_layer(index).sample_v_given_h(h, generator)
            steps.append((mean, h))
        return steps

    def generate(self, chains, n_gibbs, generator, labels=None, mean_field=False):
        """Run ``n_gibbs`` Gibbs steps in the top RBM from ``chains`` (its visible states: the penultimate layer,
        and the label units when the top RBM has them), then sample down through the directed layers.

        ``labels`` (one-hot rows, or None) clamps the label units of a labelled top RBM at every step.
        ``mean_field``: read the chains out deterministically instead: the top RBM's hidden probabilities given the
        final chain state, the penultimate layer's probabilities given those, then the mean-field top-down pass.

        Returns (new chains, E[v | h^1], v): the top RBM's visible states to continue from, and the generated
        visible means and samples (with ``mean_field``, the read-out twice).
        """
        top = self.rbms[-1]
        n_data = getattr(top.visible, "n_features", top.n_visible)  # label units, if any, come after
        if labels is not None:
            chains[:, n_data:] = labels
        mean = chains
        for _ in range(n_gibbs):
            mean, chains = top.gibbs_vhv(chains, generator)
            if labels is not None:
                chains[:, n_data:] = labels
        if mean_field:
            mean = top.mean_v_given_h(top.prob_h_given_v(chains))[:, :n_data]
            mean = self.down(mean, layer=-2) if len(self.rbms) > 1 else mean
            return chains, mean, mean
        mean, state = mean[:, :n_data], chains[:, :n_data]
        if len(self.rbms) == 1:
            return chains, mean, state
        mean, v = self.sample_down(state, generator, layer=-2)[-1]
        return chains, mean, v

    def denoise(self, v, unknown, n_gibbs, generator):
        """Estimate E[v_unknown | v_known] by Gibbs sampling with the known entries clamped.

        Each step samples up through the recognition layers, takes one Gibbs step in the top RBM (label units, if
        any, sampled with it), samples down through the directed layers, and resets the known entries of v. The
        estimate averages E[v | h^1] over the second half of the ``n_gibbs`` steps (Rao-Blackwellised).

        ``v``: rows with any valid value at the unknown entries; ``unknown``: boolean tensor of v's shape.
        Returns v with the unknown entries replaced by their estimate; the known entries are returned unchanged.
        """
        top = self.rbms[-1]
        n_data = getattr(top.visible, "n_features", top.n_visible)
        n_labels = top.n_visible - n_data
        labels = v.new_full((v.shape[0], n_labels), 1.0 / max(n_labels, 1))
        known, total = v.clone(), torch.zeros_like(v)
        start = n_gibbs // 2
        for step in range(n_gibbs):
            h = v
            for rbm in self.rbms[:-1]:
                h = rbm.sample_h_given_v(h, generator)[1]
            _, top_h = top.sample_h_given_v(torch.cat([h, labels], 1), generator)
            mean, state = top.sample_v_given_h(top_h, generator)
            labels = state[:, n_data:]
            if len(self.rbms) > 1:
                mean, state = self.sample_down(state[:, :n_data], generator, layer=-2)[-1]
            v = torch.where(unknown, state[:, : v.shape[1]], known)
            if step >= start:
                total += mean[:, : v.shape[1]]
        return torch.where(unknown, total / (n_gibbs - start), known)

    def down(self, h, layer=-1):
        """Mean-field top-down pass from hidden layer ``layer`` to the visible layer: E[v | h^layer]."""
        last = layer % len(self.rbms)
        for index in reversed(range(last + 1)):
            h = self._down_layer(index).mean_v_given_h(h)
        return h


class GenerativeLayer(nn.Module):
    """Untied top-down weights of one directed layer: P(v | h) with weight (n_hidden, n_visible) and bias."""

    def __init__(self, rbm):
        super().__init__()
        self.visible = rbm.visible
        self.weight = nn.Parameter(rbm.weight.detach().clone(), requires_grad=False)
        self.visible_bias = nn.Parameter(rbm.visible_bias.detach().clone(), requires_grad=False)

    def mean_v_given_h(self, h):
        """E[v | h] = mean(a + h G)."""
        return self.visible.mean(torch.addmm(self.visible_bias, h, self.weight))

    def sample_v_given_h(self, h, generator):
        pre = torch.addmm(self.visible_bias, h, self.weight)
        mean = self.visible.mean(pre)
        return mean, self.visible.sample(pre, mean, generator)
