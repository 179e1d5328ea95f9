"""
Convolutional RBMs: shared filters and probabilistic max-pooling
================================================================

A convolutional RBM (Lee, Grosse, Ranganath & Ng 2009) shares each filter over every image position, and
probabilistic max-pooling lets at most one detection unit of each pooling block be on. The pooled features
feed a linear classifier. On the 8 x 8 digits, where a 3 x 3 filter has hardly room to move and a pixel's
position matters, the raw pixels classify better; shared filters pay on full-sized images, where the features
of a two-layer ``ConvDBN`` reach 1.59% test error on MNIST with a linear classifier (BENCHMARKS.md,
"Convolutional DBNs on MNIST"), and denoise digits far better than a dense DBN.
"""
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from deepbelief import ConvRBM

X, y = load_digits(return_X_y=True)
X = X / 16
crbm = ConvRBM(n_filters=16, filter_size=3, pool_size=2, n_iter=10, random_state=0).fit(X)
maps = crbm.transform(X[:1], maps=True)[0]           # (16 filters, 3, 3) pooling probabilities

features = cross_val_score(make_pipeline(ConvRBM(n_filters=16, filter_size=3, pool_size=2, n_iter=10,
                                                 random_state=0), LogisticRegression(max_iter=2000)), X, y, cv=3)
pixels = cross_val_score(LogisticRegression(max_iter=2000), X, y, cv=3)
print(f"3-fold accuracy of logistic regression: on ConvRBM features {features.mean():.3f}, "
      f"on the pixels {pixels.mean():.3f}")

filters = crbm.components_.reshape(16, 3, 3)          # (16 filters, 9 weights)
fig, axes = plt.subplots(2, 16, figsize=(10, 1.8))
for i in range(16):
    axes[0, i].imshow(filters[i], cmap="RdBu_r")
    axes[1, i].imshow(maps[i], cmap="gray_r", vmin=0, vmax=1)
    axes[0, i].axis("off")
    axes[1, i].axis("off")
axes[0, 0].set_title("3 x 3 filters", loc="left", fontsize=8)
axes[1, 0].set_title("pooled maps of one digit", loc="left", fontsize=8)
plt.show()
