"""
Classifying digits with a pretrained DBN
========================================

The seed tutorial: a deep belief network pretrained layer by layer on scikit-learn's 8 x 8 digits, then
fine-tuned with the labels as a feed-forward classifier. The figure shows test digits with the predicted
label, in red where it is wrong. The second part runs the tutorial's own code, written for the older ``dbn``
package, through ``deepbelief.compat``.
"""
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepbelief import DBNClassifier

FULL = os.environ.get("DEEPBELIEF_FULL") == "1"  # MNIST instead of digits
if FULL:
    from deepbelief.datasets import load_mnist
    (X_train, y_train), (X_test, y_test) = load_mnist()
    side = 28
else:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, random_state=0)
    side = 8

clf = DBNClassifier((256, 256), n_iter=10, max_iter=50, random_state=0).fit(X_train, y_train)
predicted = clf.predict(X_test)
print(f"test accuracy {np.mean(predicted == y_test):.3f}")

fig, axes = plt.subplots(3, 8, figsize=(8, 3.4))
for ax, image, label, truth in zip(axes.flat, X_test, predicted, y_test):
    ax.imshow(image.reshape(side, side), cmap="gray_r")
    ax.set_title(str(label), color="black" if label == truth else "red")
    ax.axis("off")
fig.suptitle("DBNClassifier on held-out digits")
plt.show()

# %%
# The same tutorial as the older ``dbn`` package wrote it
# --------------------------------------------------------
# ``deepbelief.compat`` takes that package's class and constructor parameters with their meaning (plain CD-1
# pretraining of the rectified rule, plain SGD fine-tuning with dropout), so the tutorial's code runs unchanged
# apart from the import; the digits are split as the tutorial splits them.
from sklearn.metrics import accuracy_score

from deepbelief.compat import SupervisedDBNClassification

X, Y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.2, random_state=0)
classifier = SupervisedDBNClassification(hidden_layers_structure=[256, 256], learning_rate_rbm=0.05,
                                         learning_rate=0.1, n_epochs_rbm=10, n_iter_backprop=100, batch_size=32,
                                         activation_function="relu", dropout_p=0.2, verbose=False,
                                         random_state=0)
classifier.fit(X_train, Y_train)
print(f"older package's API: test accuracy {accuracy_score(Y_test, classifier.predict(X_test)):.3f}")
