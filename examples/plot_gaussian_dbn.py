"""
Gaussian DBNs on real-valued tables
===================================

Real-valued inputs take Gaussian visible units, standardised internally: with the default ``visible="auto"``
an estimator chooses them whenever its training data lie outside [0, 1] (the fitted ``visible_`` says which),
so raw feature tables need no scaling step. Here ``DBNClassifier`` and ``DBNRegressor`` with their defaults, on
three of scikit-learn's tables in their raw units, under 5-fold cross-validation beside a linear model and a
standardised multi-layer perceptron of the same hidden sizes.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deepbelief import DBNClassifier, DBNRegressor

tables = {"wine": (load_wine, DBNClassifier, LogisticRegression(max_iter=5000), MLPClassifier),
          "breast cancer": (load_breast_cancer, DBNClassifier, LogisticRegression(max_iter=5000), MLPClassifier),
          "diabetes (R^2)": (load_diabetes, DBNRegressor, Ridge(), MLPRegressor)}
scores = {}
for name, (load, dbn, linear, mlp) in tables.items():
    X, y = load(return_X_y=True)
    models = {"DBN, defaults": dbn(random_state=0),
              "linear": make_pipeline(StandardScaler(), linear),
              "MLP (256, 256)": make_pipeline(StandardScaler(), mlp(hidden_layer_sizes=(256, 256), early_stopping=True,
                                                                    random_state=0))}
    scores[name] = {model: cross_val_score(estimator, X, y, cv=5).mean() for model, estimator in models.items()}
    print(f"{name:15s}", ", ".join(f"{model} {score:.3f}" for model, score in scores[name].items()),
          f"(raw feature range {X.min():.3g} to {X.max():.3g})")
print("visible units chosen on the raw wine table:", DBNClassifier(n_iter=1, max_iter=1).fit(
    *load_wine(return_X_y=True)).visible_)

fig, ax = plt.subplots(figsize=(7, 3.4))
width = 0.27
for i, model in enumerate(scores["wine"]):
    ax.bar(np.arange(len(scores)) + (i - 1) * width, [scores[t][model] for t in scores], width, label=model)
ax.set_xticks(range(len(scores)), list(scores))
ax.set_ylabel("5-fold CV accuracy / R^2")
ax.set_ylim(0, 1.05)
ax.legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()
