"""Sampling from a fitted stack of RBMs (a DBN, or one RBM as a one-layer DBN): persistent Gibbs chains in the top
RBM read out top-down, clamped labels, and denoising with clamped known entries."""
from numbers import Integral

import numpy as np
import torch

from .._validation import check_count, check_masked_X, check_X


class StackSamplingMixin:
    """Sampling for estimators whose ``_stack()`` returns (fitted RBM estimators bottom to top, their DBNModule)."""

    def _below_top(self, v):
        """The top RBM's data input: the penultimate layer's activations (v itself for a one-layer stack)."""
        rbms, module = self._stack()
        return module.up(v, len(rbms) - 2) if len(rbms) > 1 else v

    def _clamped_labels(self, label, n_samples):
        """One-hot rows for ``label`` (one class or one per sample), or None."""
        if label is None:
            return None
        top = self._stack()[0][-1]
        if top.n_labels is None:
            raise ValueError("label= needs a DBN fitted with n_labels (label units in the top RBM)")
        given = np.asarray(label, dtype=top.classes_.dtype)
        if given.ndim > 1 or given.size not in (1, n_samples):
            raise ValueError(f"label holds {given.size} labels for {n_samples} samples; give one label for all of them "
                             "or one per sample")
        wanted = np.broadcast_to(given.reshape(-1) if given.ndim else given, (n_samples,))
        index = np.searchsorted(top.classes_, wanted).clip(0, len(top.classes_) - 1)
        unknown = top.classes_[index] != wanted
        if unknown.any():
            raise ValueError(f"label {wanted[unknown][0].item()!r} is not one of the classes {top.classes_.tolist()}")
        return top._one_hot(index)

    def _generate(self, n_samples, n_gibbs, burn_in, init, random_state, return_probabilities, label, mean_field):
        """See :meth:`DBN.generate`; the chains persist in ``_chains``."""
        check_count(n_samples, "n_samples", 1)
        check_count(n_gibbs, "n_gibbs")
        check_count(burn_in, "burn_in")
        rbms, module = self._stack()
        labels = self._clamped_labels(label, n_samples)
        generator = rbms[-1]._generator(random_state)
        top = rbms[-1].module_
        chains = getattr(self, "_chains", None)
        fresh = init is not None or random_state is not None or chains is None or chains.shape[0] != n_samples
        if fresh:
            if init is not None:
                X = check_X(self, init, reset=False, units=self.visible_)
                if X.shape[0] != n_samples:
                    raise ValueError(f"init has {X.shape[0]} rows but n_samples={n_samples}")
                chains = rbms[-1]._complete(self._below_top(rbms[0]._encode(X)))
            else:
                pre = top.visible_bias.expand(n_samples, -1)
                chains = top.visible.sample(pre, top.visible.mean(pre), generator)
            chains, _, _ = module.generate(chains, burn_in, generator, labels)
        chains, mean, v = module.generate(chains, n_gibbs, generator, labels, mean_field)
        self._chains = chains
        return rbms[0]._decode(mean if return_probabilities else v)

    def _denoise(self, X, mask, n_gibbs, random_state):
        """See :meth:`DBN.denoise`."""
        if not (isinstance(n_gibbs, Integral) and n_gibbs >= 1):
            raise ValueError(f"n_gibbs must be an integer >= 1; got {n_gibbs!r}")
        X, unknown = check_masked_X(self, X, mask, units=self.visible_)
        if unknown is None:
            return self.reconstruct(X)
        rbms, module = self._stack()
        first = rbms[0]
        rbm = first.module_
        v = first._encode(X)
        fill = rbm.visible.mean(rbm.visible_bias)[: v.shape[1]]
        unknown_t = torch.as_tensor(unknown, device=v.device)
        v = torch.where(unknown_t, fill.expand_as(v), v)
        out = first._decode(module.denoise(v, unknown_t, n_gibbs, rbms[-1]._generator(random_state)))
        return np.where(unknown, out, X).astype(X.dtype)
