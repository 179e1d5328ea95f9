"""A deep belief network: a stack of RBMs whose hidden layer feeds the next one's visible layer.

Bottom-up (recognition) passes use P(h^l | h^(l-1)) of RBM l. Top-down (generative) passes use
P(h^(l-1) | h^l) of RBM l, i.e. RBM l's weights transposed and RBM l's visible bias.
"""
from torch import nn

from .rbm import RBMModule


class DBNModule(nn.Module):
    """A stack of :class:`RBMModule` with matching sizes (rbm[l].n_hidden == rbm[l+1].n_visible)."""

    def __init__(self, rbms):
        super().__init__()
        rbms = list(rbms)
        for lower, upper in zip(rbms, rbms[1:]):
            if lower.n_hidden != upper.n_visible:
                raise ValueError(f"layer sizes do not chain: an RBM with {lower.n_hidden} hidden units is "
                                 f"followed by one with {upper.n_visible} visible units")
        self.rbms = nn.ModuleList(rbms)

    def __len__(self):
        return len(self.rbms)

    def up(self, v, layer=-1):
        """Mean-field bottom-up pass: E[h^l | v] through RBMs 0..``layer`` (negative counts from the top)."""
        last = layer % len(self.rbms)
        h = v
        for rbm in self.rbms[: last + 1]:
            h = rbm.prob_h_given_v(h)
        return h

    def down(self, h, layer=-1):
        """Mean-field top-down pass from hidden layer ``layer`` to the visible layer: E[v | h^layer]."""
        last = layer % len(self.rbms)
        for rbm in reversed(self.rbms[: last + 1]):
            h = rbm.mean_v_given_h(h)
        return h
