"""Sampling from a fitted stack of RBMs (a DBN, or one RBM as a one-layer DBN): persistent Gibbs chains in the top
RBM read out top-down, clamped labels, and denoising with clamped known entries; the RBM's and the DBN's public
sampling methods on top of them."""
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .._runtime import to_tensor
from ._labels import clamped_labels
from .._validation import check_count, check_masked_X, check_range, check_X


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
            raise ValueError(f"label= needs label units: fit the {type(self).__name__} with n_labels (label units in "
                             "the top RBM)")
        return clamped_labels(label, top.classes_, n_samples, top.module_.weight)

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


class RBMSamplingMixin(StackSamplingMixin):
    """Reconstruction, Gibbs steps, samples and denoising of an RBM estimator."""

    @torch.no_grad()
    def reconstruct(self, X, n_gibbs=0, random_state=None):
        """Reconstruction of X through the hidden layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_gibbs : int, default=0
            0: the mean-field pass E[v | E[h | v]]. n > 0: n Gibbs steps from X, returning E[v | h] of the last.
        random_state : int, RandomState or None
            Seeds the Gibbs steps (None: the model's own inference generator).

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "module_")
        check_count(n_gibbs, "n_gibbs")
        X = self._check(X, sparse=n_gibbs == 0)
        rbm = self.module_
        if n_gibbs == 0:
            return self._decode(self._rows(self._mean_field, X))
        generator = self._generator(random_state)
        v = self._complete(self._encode(X))
        for _ in range(n_gibbs):
            mv, v = rbm.gibbs_vhv(v, generator)
        return self._decode(self._data_part(mv))

    @torch.no_grad()
    def gibbs(self, v, k=1, random_state=None):
        """Run k steps of block Gibbs sampling v -> h -> v from each row of v; return the visible samples.

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features)
        k : int, default=1
        random_state : int, RandomState or None (None: the model's own inference generator)

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features); {0, 1} for Bernoulli units
        """
        check_is_fitted(self, "module_")
        if not (isinstance(k, Integral) and k >= 1):
            raise ValueError(f"k must be an integer >= 1; got {k!r}")
        X = self._check(v, sparse=False)
        generator = self._generator(random_state)
        state = self._complete(self._encode(X))
        for _ in range(k):
            _, state = self.module_.gibbs_vhv(state, generator)
        return self._decode(self._data_part(state))

    @torch.no_grad()
    def sample(self, n_samples, n_gibbs=100, burn_in=1000, init=None, random_state=None,
               return_probabilities=False, mean_field=False):
        """Samples from the RBM by block Gibbs sampling, with persistent chains: :meth:`generate` without
        ``label`` (the same parameters and the same chains).
        """
        check_is_fitted(self, "module_")
        return self._generate(n_samples, n_gibbs, burn_in, init, random_state, return_probabilities, None, mean_field)

    @torch.no_grad()
    def generate(self, n_samples, n_gibbs=100, burn_in=1000, init=None, random_state=None,
                 return_probabilities=False, label=None, mean_field=False):
        """Samples from the RBM by block Gibbs sampling, with persistent chains (see :meth:`DBN.generate`); for an
        RBM fitted with ``n_labels``, ``label`` clamps the label units to a class (or each chain to its own).
        ``sample`` is the same without ``label``, and shares the chains.

        Parameters
        ----------
        n_samples : int
        n_gibbs, burn_in : int, default=100, 1000
            Steps before read-out, and extra steps for new chains.
        init : array-like of shape (n_samples, n_features) or None
            Start new chains from these rows instead of from the visible biases.
        random_state : int, RandomState or None
        return_probabilities : bool, default=False
            Return E[v | h] of the last step instead of samples.
        label : a class label, an array of n_samples labels, or None
            With ``n_labels``: the class each chain is clamped to. None samples the labels with the image.
        mean_field : bool, default=False
            Return E[v | E[h | v]] of the chains' last state v: the deterministic read-out.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), in the data's units
        """
        check_is_fitted(self, "module_")
        return self._generate(n_samples, n_gibbs, burn_in, init, random_state, return_probabilities, label,
                              mean_field)

    @torch.no_grad()
    def denoise(self, X, mask=None, n_gibbs=100, random_state=None):
        """Fill in unknown or corrupted entries of X: see :meth:`DBN.denoise` (this RBM as a one-layer DBN)."""
        check_is_fitted(self, "module_")
        return self._denoise(X, mask, n_gibbs, random_state)


class DBNSamplingMixin(StackSamplingMixin):
    """Generation, top-down sampling, reconstruction and denoising of a DBN estimator."""

    @torch.no_grad()
    def generate(self, n_samples, n_gibbs=100, burn_in=1000, init=None, random_state=None,
                 return_probabilities=False, label=None, mean_field=False):
        """Samples from the DBN as a generative model: Gibbs sampling in the top RBM, then one top-down pass
        through the directed layers (layer l-1 drawn from RBM l's visible conditional).

        The top RBM's chains are persistent: a call continues the chains of the previous call with ``n_gibbs``
        more steps. New chains are started, and run ``burn_in`` steps first, on the first call, when
        ``n_samples`` changes, with ``init``, or with a ``random_state`` (which makes the call reproducible).

        Parameters
        ----------
        n_samples : int
        n_gibbs : int, default=100
            Gibbs steps in the top RBM before the samples are read out.
        burn_in : int, default=1000
            Extra Gibbs steps for new chains.
        init : array-like of shape (n_samples, n_features) or None
            Start the chains from the top-level representation of these data rows instead of from the top RBM's
            visible biases.
        random_state : int, RandomState or None
        return_probabilities : bool, default=False
            Return E[v | h^1] (probabilities for Bernoulli units) instead of samples.
        label : a class label, an array of n_samples labels, or None
            With ``n_labels``: clamp the top RBM's label units to this class (or each chain to its own).
        mean_field : bool, default=False
            Read each chain out deterministically: the top RBM's hidden probabilities given the chain's last state,
            then probabilities (not samples) all the way down. Cleaner images than ``return_probabilities``,
            which draws every layer below the top RBM; returns probabilities. The chains themselves are sampled
            as usual.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), in the data's units; {0, 1} samples for Bernoulli units
        """
        check_is_fitted(self, "rbms_")
        return self._generate(n_samples, n_gibbs, burn_in, init, random_state, return_probabilities, label,
                              mean_field)

    @torch.no_grad()
    def sample_down(self, H, layer=-1, random_state=None, return_probabilities=False):
        """Top-down ancestral sampling from given states of hidden layer ``layer`` to the visible layer.

        Parameters
        ----------
        H : array-like of shape (n_samples, hidden_layer_sizes[layer])
        layer : int, default=-1
        random_state : int, RandomState or None
        return_probabilities : bool, default=False
            Return E[v | h^1] of the last step instead of the visible samples.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "rbms_")
        layer = self._check_layer(layer)
        H = check_array(H, dtype=(np.float32, np.float64), input_name="H")
        if H.shape[1] != self.rbms_[layer].n_components:
            raise ValueError(f"H has {H.shape[1]} columns but hidden layer {layer} has "
                             f"{self.rbms_[layer].n_components} units")
        check_range(H, self.hidden, f"{type(self).__name__}'s hidden layer {layer}", "H")
        first = self.rbms_[0]
        steps = self.module_.sample_down(to_tensor(H, first.module_.weight.device), self._generator(random_state),
                                         layer)
        mean, v = steps[-1]
        return first._decode(mean if return_probabilities else v)

    @torch.no_grad()
    def reconstruct(self, X, n_gibbs=0, random_state=None):
        """Reconstruction through the whole stack.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_gibbs : int, default=0
            0: the mean-field pass up to the top layer and back down. n > 0: up to the penultimate layer, n Gibbs
            steps in the top RBM, then a top-down sampling pass, returning E[v | h^1] of its last step.
        random_state : int, RandomState or None (seeds the Gibbs steps)

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "rbms_")
        if not (isinstance(n_gibbs, Integral) and n_gibbs >= 0):
            raise ValueError(f"n_gibbs must be an integer >= 0; got {n_gibbs!r}")
        if n_gibbs == 0:
            return self.inverse_transform(self.transform(X))
        X = check_X(self, X, reset=False, units=self.visible_, sparse=True)
        top, generator = self.rbms_[-1], self._generator(random_state)
        return self.rbms_[0]._rows(
            lambda v: self.module_.generate(top._complete(self._below_top(v)), n_gibbs, generator)[1], X)

    @torch.no_grad()
    def denoise(self, X, mask=None, n_gibbs=100, random_state=None):
        """Fill in unknown or corrupted entries of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features); NaN entries count as unknown
        mask : boolean array of X's shape or None
            True marks an unknown entry. Known entries stay clamped (returned exactly as given) while the unknown
            ones are resampled by Gibbs sampling through the stack (see ``DBNModule.denoise``), returning their
            estimated mean. Without a mask (and without NaN): the mean-field up-down pass of ``reconstruct``.
        n_gibbs : int, default=100
            Gibbs steps; the mean is averaged over the second half.
        random_state : int, RandomState or None

        Returns
        -------
        X_denoised : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "rbms_")
        return self._denoise(X, mask, n_gibbs, random_state)
