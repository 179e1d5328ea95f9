"""
Semi-supervised learning with few labels
========================================

Labels are expensive, images are not. ``DBNClassifier`` pretrains on every row it is given and fine-tunes on the
labelled ones: rows labelled ``-1`` count as unlabelled. Here 30 labels (three per digit) and 868 unlabelled
images, against the same network and a logistic regression that see only the 30 labelled rows.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from deepbelief import DBNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.5, random_state=0, stratify=y)

rng = np.random.default_rng(0)
labelled = np.concatenate([rng.choice(np.flatnonzero(y_train == d), 3, replace=False) for d in range(10)])
y_partial = np.full_like(y_train, -1)
y_partial[labelled] = y_train[labelled]

# max_iter counts passes over the labelled rows: 30 rows, batch 10, 3 updates an epoch
params = dict(hidden_layer_sizes=(128, 64), n_iter=20, max_iter=300, batch_size=10, random_state=0)
semi = DBNClassifier(**params).fit(X_train, y_partial)
labelled_only = DBNClassifier(**params).fit(X_train[labelled], y_train[labelled])
logistic = LogisticRegression(max_iter=1000).fit(X_train[labelled], y_train[labelled])

scores = {"DBN, pretrained on all 898 rows": semi.score(X_test, y_test),
          "DBN, pretrained on the 30 labelled": labelled_only.score(X_test, y_test),
          "logistic regression, 30 labelled": logistic.score(X_test, y_test)}
for name, score in scores.items():
    print(f"{name}: test accuracy {score:.3f}")

fig, ax = plt.subplots(figsize=(6, 2.6))
ax.barh(list(scores), list(scores.values()), color=["C0", "C1", "C2"])
ax.set_xlim(0, 1)
ax.set_xlabel("test accuracy (30 labels)")
ax.invert_yaxis()
fig.tight_layout()
plt.show()
