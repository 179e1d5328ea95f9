"""Scores of rows under a fitted RBM or DBN, higher for rows more typical of the training data: free energies,
the pseudo-log-likelihood, the reconstruction error (what :class:`AnomalyDetector` ranks by)."""
import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .._validation import INFERENCE_CHUNK, check_X, chunk_rows, dense_rows
from ..core.estimate import pseudo_log_likelihood, reconstruction_error

SCORES = ("pseudo_likelihood", "free_energy", "reconstruction")


class RBMScoringMixin:
    """Free energies and row scores of an RBM estimator."""

    @torch.no_grad()
    def free_energy(self, X):
        """Free energy F(v) = -a.v - sum_j softplus(b_j + W_j.v) of each row (in standardised units for
        Gaussian visible units, where -a.v becomes 0.5 ||v - a||^2).

        Returns
        -------
        F : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "module_")
        return self._rows(self._free_energy, self._check(X))

    def _free_energy(self, v):
        """F(v), or for label models the free energy with the label summed out, -log sum_y exp(-F(v, y))."""
        return self.module_.free_energy(v) if self.n_labels is None else self.module_.label_free_energy(v)

    @torch.no_grad()
    def score_samples(self, X, score="pseudo_likelihood"):
        """Score of each row; higher = more typical of the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        score : {'pseudo_likelihood', 'free_energy', 'reconstruction'}, default='pseudo_likelihood'
            'pseudo_likelihood': ``sum_i log P(v_i | v_-i)``, computed exactly over all features (scikit-learn's
            BernoulliRBM estimates it from one random feature); for Gaussian visible units, where these
            conditionals have no closed form, and for label models, -F(v) instead. 'free_energy': -F(v), the
            unnormalised log-density (the label summed out for label models), the usual anomaly score.
            'reconstruction': minus the mean-field reconstruction error (``reconstruction_error``).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "module_")
        if score not in SCORES:
            raise ValueError(f"score must be one of {sorted(SCORES)}; got {score!r}")
        X = self._check(X)
        if score == "reconstruction":
            return -self.reconstruction_error(X)
        if score == "pseudo_likelihood" and self.visible_ == "bernoulli" and self.n_labels is None:
            return self._rows(lambda v: pseudo_log_likelihood(self.module_, v), X)
        return -self._rows(self._free_energy, X)

    @torch.no_grad()
    def reconstruction_error(self, X):
        """Mean-field reconstruction error per row, sum_i (v_i - E[v_i | E[h | v]])^2 in model units."""
        check_is_fitted(self, "module_")
        if self.n_labels is None:
            return self._rows(lambda v: reconstruction_error(self.module_, v), self._check(X))
        X = self._check(X)
        return self._rows(lambda v: ((self._mean_field(v) - v) ** 2).sum(1), X)


class DBNScoringMixin:
    """Row scores of a DBN estimator: its first RBM's, or the reconstruction through the whole stack."""

    @torch.no_grad()
    def score_samples(self, X, score="free_energy"):
        """Normality score of each row (higher = more typical of the training data), for anomaly detection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        score : {'free_energy', 'reconstruction', 'pseudo_likelihood'}, default='free_energy'
            'free_energy': -F(v) of the first RBM (its unnormalised log-density); 'reconstruction': minus the
            squared error of the mean-field reconstruction through the whole stack (in model units);
            'pseudo_likelihood': the first RBM's pseudo-log-likelihood.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "rbms_")
        if score == "reconstruction":
            X = check_X(self, X, reset=False, units=self.visible_, sparse=True)
            scale = 1.0 if self.rbms_[0].data_scale_ is None else self.rbms_[0].data_scale_
            step = chunk_rows(X, INFERENCE_CHUNK)
            chunks = (dense_rows(X, i, i + step) for i in range(0, X.shape[0], step))
            return np.concatenate([-(((self.reconstruct(c) - c) / scale) ** 2).sum(1) for c in chunks])
        return self.rbms_[0].score_samples(X, score=score)
