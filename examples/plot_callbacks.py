"""
Watching and steering training with callbacks
=============================================

``callbacks=[...]`` runs your code after every epoch of every stage of a fit: each layer's pretraining, then
fine-tuning. Here one callback ends each pretraining layer once its reconstruction error has improved by less
than 2% over the last five epochs (after ten at least) (a true return ends the stage), and ``CSVLogger`` writes every monitor of every epoch to a
tidy table, drawn below. ``TensorBoardLogger`` (``pip install "deepbelief[tensorboard]"``) logs the same as
TensorBoard scalars, with images of filters, reconstructions and samples.
"""
import csv
import os
import tempfile
from collections import defaultdict

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from deepbelief import DBNClassifier
from deepbelief.callbacks import CSVLogger

X, y = load_digits(return_X_y=True)
X = X / 16


def stop_when_flat(epoch):
    if epoch.stage != "pretraining":
        return False
    errors = stop_when_flat.errors[epoch.layer]
    errors.append(epoch.metrics["reconstruction_error"])
    return len(errors) > 10 and errors[-1] > 0.98 * errors[-6]


stop_when_flat.errors = defaultdict(list)
log = os.path.join(tempfile.mkdtemp(), "training-log.csv")
clf = DBNClassifier((128, 64), activation="sigmoid", n_iter=100, max_iter=40, random_state=0,
                    callbacks=[stop_when_flat, CSVLogger(log)]).fit(X, y)
print("pretraining epochs per layer, of 100:", [rbm.n_iter_ for rbm in clf.dbn_.rbms_])

curves = defaultdict(list)
with open(log, newline="") as rows:
    for row in csv.DictReader(rows):
        curves[row["stage"], row["layer"], row["metric"]].append(float(row["value"]))
print("logged:", sorted({f"{stage} {metric}" for stage, _, metric in curves}))

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
for (stage, layer, metric), values in curves.items():
    if metric == "reconstruction_error":
        left.plot(values, "o-", ms=3, label=f"layer {int(layer) + 1}")
    elif stage == "fine-tuning" and metric == "loss":
        right.plot(values)
left.set_xlabel("pretraining epoch")
left.set_ylabel("reconstruction error")
left.legend()
right.set_xlabel("fine-tuning epoch")
right.set_ylabel("cross-entropy loss")
fig.tight_layout()
plt.show()
