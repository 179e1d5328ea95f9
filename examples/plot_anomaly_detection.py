"""
Anomaly detection
=================

An RBM trained on normal data gives typical rows a low free energy. ``AnomalyDetector`` scores rows by it
(``score_samples``: higher is more normal) and flags the lowest ``contamination`` share. Trained here on the
digits 0-4, it is asked about held-out 0-4 and about the digits 5-9 it never saw.
"""
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split

from deepbelief import RBM, AnomalyDetector

if os.environ.get("DEEPBELIEF_FULL") == "1":  # MNIST (deepbelief.datasets, downloaded once)
    from deepbelief.datasets import load_mnist
    (X, y), _ = load_mnist()
    units = 500
else:
    X, y = load_digits(return_X_y=True)
    X, units = X / 16, 64
normal, novel = X[y < 5], X[y >= 5]
train, held_out = train_test_split(normal, test_size=0.3, random_state=0)

detector = AnomalyDetector(RBM(units, n_iter=30), contamination=0.05, random_state=0).fit(train)
scores = np.concatenate([detector.score_samples(held_out), detector.score_samples(novel)])
is_novel = np.r_[np.zeros(len(held_out)), np.ones(len(novel))]
auc = roc_auc_score(is_novel, -scores)
flagged = np.mean(detector.predict(novel) == -1), np.mean(detector.predict(held_out) == -1)
print(f"ROC AUC {auc:.3f}; flagged as outliers: {flagged[0]:.1%} of the digits 5-9, {flagged[1]:.1%} of held-out 0-4")

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
bins = np.linspace(scores.min(), scores.max(), 40)
left.hist(scores[is_novel == 0], bins, alpha=0.6, label="held-out 0-4")
left.hist(scores[is_novel == 1], bins, alpha=0.6, label="unseen 5-9")
left.axvline(detector.offset_, color="k", ls="--", label="threshold")
left.set_xlabel("score_samples (minus free energy)")
left.legend(fontsize=8)
fpr, tpr, _ = roc_curve(is_novel, -scores)
right.plot(fpr, tpr)
right.plot([0, 1], [0, 1], "k:")
right.set_xlabel("false positive rate")
right.set_ylabel("true positive rate")
right.set_title(f"ROC, AUC {auc:.2f}", fontsize=10)
fig.tight_layout()
plt.show()
