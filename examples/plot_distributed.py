"""
Training across processes
=========================

The same script runs data-parallel under PyTorch's launcher: ``torchrun --nproc_per_node=2 script.py``. Each
rank trains on its shard of the rows, and every update averages the ranks' CD statistics with one all-reduce,
so 2 ranks with 16 rows a batch make exactly the updates of one process with 32 (rank 0 takes the first half of
the rows, rank 1 the second; one process sees the same batches when its rows come 16 from each half in turn).
This example starts two processes on this machine (gloo, CPU), fits an RBM in them, and compares the model with
one trained in a single process on the interleaved rows. They differ by floating-point rounding only (the
ranks' sums are added in another order); over many epochs that difference can grow, when a rounded probability
decides a Gibbs draw the other way.
"""
import os
import subprocess
import sys
import tempfile
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

import deepbelief
from deepbelief import RBM

folder = tempfile.mkdtemp()
script = os.path.join(folder, "train.py")
with open(script, "w") as file:
    file.write(textwrap.dedent(f"""
        from sklearn.datasets import load_digits
        from deepbelief import RBM, distributed
        X = load_digits().data[:1792] / 16  # 2 shards of 896 rows, 56 batches of 16 each
        rbm = RBM(36, batch_size=16, n_iter=4, shuffle=False, random_state=0).fit(X)  # batch per rank
        if distributed.is_main_process():
            rbm.save({os.path.join(folder, "two-ranks.dbn")!r})
        distributed.leave(0)
    """))
env = {**os.environ, "OMP_NUM_THREADS": "1"}
run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                      script], env=env, capture_output=True, text=True)
assert run.returncode == 0, run.stderr[-2000:]
two_ranks = deepbelief.load(os.path.join(folder, "two-ranks.dbn"))

halves = np.split(load_digits().data[:1792] / 16, 2)
X = np.concatenate([half[start:start + 16] for start in range(0, 896, 16) for half in halves])
one_process = RBM(36, batch_size=32, n_iter=4, shuffle=False, random_state=0).fit(X)
difference = np.abs(two_ranks.components_ - one_process.components_).max()
print(f"largest weight difference, 2 ranks x 16 rows against 1 process x 32 rows: {difference:.1e}")

fig, axes = plt.subplots(2, 12, figsize=(10, 2.2))
for row, (model, name) in enumerate(((two_ranks, "2 processes"), (one_process, "1 process"))):
    for ax, w in zip(axes[row], model.components_):
        ax.imshow(w.reshape(8, 8), cmap="RdBu_r")
        ax.axis("off")
    axes[row, 0].set_title(name, loc="left", fontsize=9)
plt.show()
