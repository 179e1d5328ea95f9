"""
Likelihood with AIS, bracketed by RAISE
=======================================

An RBM's log-likelihood needs its partition function Z, a sum over every joint state. Annealed importance
sampling (AIS, Salakhutdinov & Murray 2008) estimates log Z through a chain of intermediate models; it tends to
underestimate log Z, hence to overestimate the likelihood, when it has too few temperatures. Reverse AIS
(RAISE, Burda, Grosse & Salakhutdinov 2015) gives a conservative estimate from the other side, so
``likelihood_bounds`` reports an interval. On an RBM with 12 hidden units the exact value can be enumerated:
the interval closes on it as temperatures are added.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from deepbelief import RBM
from deepbelief.evaluate import likelihood_bounds, log_likelihood

X = (load_digits().data / 16 > 0.5).astype(float)
train, test = X[:1400], X[1400:]
rbm = RBM(12, n_iter=30, random_state=0).fit(train)
exact = log_likelihood(rbm, test).mean()      # log Z by enumerating the 2^12 hidden states
print(f"exact mean test log-likelihood {exact:.3f} nats")

temperatures = [30, 100, 300, 1000]
bounds = [likelihood_bounds(rbm, test, ais_runs=100, raise_runs=5, betas=np.linspace(0, 1, n), random_state=0)
          for n in temperatures]
for n, b in zip(temperatures, bounds):
    print(f"{n:5d} temperatures: RAISE lower {b.lower:8.3f}, AIS estimate {b.estimate:8.3f}, upper {b.upper:8.3f}")

fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.fill_between(temperatures, [b.lower for b in bounds], [b.upper for b in bounds], alpha=0.3,
                label="interval (RAISE lower, AIS upper)")
ax.plot(temperatures, [b.estimate for b in bounds], "o-", label="AIS estimate")
ax.axhline(exact, color="k", ls="--", label="exact (enumerated)")
ax.set_xscale("log")
ax.set_xlabel("intermediate temperatures")
ax.set_ylabel("mean test log p(v), nats")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
