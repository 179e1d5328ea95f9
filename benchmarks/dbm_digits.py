"""Fine-tuning from a DBM against a DBN with the same sigmoid network on digits (issue 40), side by side.

    python benchmarks/dbm_digits.py
"""
import numpy as np
from sklearn.datasets import load_digits

from deepbelief import DBM, DBN, DBNClassifier

X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
runs = [("DBN pretraining, sigmoid network, 30 epochs", DBN(hidden_layer_sizes=(64, 32), n_iter=5),
         dict(activation="sigmoid", max_iter=30)),
        ("DBM pretraining, 30 epochs", DBM(hidden_layer_sizes=(64, 32), n_iter=5, max_iter=2), dict(max_iter=30)),
        ("DBM pretraining, 100 epochs", DBM(hidden_layer_sizes=(64, 32), n_iter=5, max_iter=2), dict(max_iter=100))]
print("| network | test accuracy (rows 1200-1796) |\n| --- | --- |")
for name, pretraining, params in runs:
    clf = DBNClassifier(pretraining=pretraining, random_state=0, **params).fit(X[:1200], y[:1200])
    print(f"| {name} | {clf.score(X[1200:], y[1200:]):.3f} |")

# Features for a linear classifier, cv=3 (unshuffled folds).
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

print("\n| features + LogisticRegression | cross_val_score cv=3 |\n| --- | --- |")
for name, model in [("DBN (64, 32), n_iter=3", DBN(hidden_layer_sizes=(64, 32), n_iter=3, random_state=0)),
                    ("DBM (64, 32), n_iter=3, max_iter=3", DBM(hidden_layer_sizes=(64, 32), n_iter=3, max_iter=3,
                                                                random_state=0)),
                    ("DBM (64, 32), n_iter=10, max_iter=3", DBM(hidden_layer_sizes=(64, 32), n_iter=10, max_iter=3,
                                                                 random_state=0))]:
    score = cross_val_score(make_pipeline(model, LogisticRegression(max_iter=500)), X, y, cv=3).mean()
    print(f"| {name} | {score:.3f} |")
