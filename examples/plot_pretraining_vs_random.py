"""
Pretraining against random initialisation
=========================================

The same feed-forward network, fine-tuned by backpropagation, started either from greedy layer-wise RBM
pretraining on every training image (``pretrain=True``; the rows without a label, marked ``-1``, count for the
pretraining only) or from random Glorot-uniform weights trained on the labelled rows (``pretrain=False``).
Each fit makes the same number of fine-tuning updates, for a sigmoid and a ReLU network.

On an 8 x 8 table of 898 training images the two starts end close; pretraining matters most with few labels
and with sigmoid units, the setting of Hinton, Osindero & Teh (2006). On MNIST it wins every pairing of the
benchmarks (BENCHMARKS.md, "MNIST table").
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepbelief import DBNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.5, random_state=0, stratify=y)
order = np.random.default_rng(0).permutation(len(y_train))

sizes = [30, 100, 300, 898]
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for activation, color in (("sigmoid", "C0"), ("relu", "C1")):
    errors = {True: [], False: []}
    for n in sizes:
        labelled = order[:n]
        y_partial = np.full_like(y_train, -1)
        y_partial[labelled] = y_train[labelled]
        epochs = int(np.ceil(1500 / np.ceil(n / 32)))  # 1,500 updates of 32 labelled rows
        for pretrain in (True, False):
            clf = DBNClassifier((256, 128), activation=activation, pretrain=pretrain, n_iter=20, max_iter=epochs,
                                batch_size=32, random_state=0)
            if pretrain:
                clf.fit(X_train, y_partial)
            else:
                clf.fit(X_train[labelled], y_train[labelled])
            errors[pretrain].append(1 - clf.score(X_test, y_test))
        print(f"{activation:7s} {n:3d} labels: test error {errors[True][-1]:.3f} pretrained, "
              f"{errors[False][-1]:.3f} random init")
    ax.plot(sizes, errors[True], "o-", color=color, label=f"{activation}, RBM pretraining")
    ax.plot(sizes, errors[False], "s--", color=color, label=f"{activation}, random init")
ax.set_xscale("log")
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.set_xlabel("labelled training rows")
ax.set_ylabel("test error")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
