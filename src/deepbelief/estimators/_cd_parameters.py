"""The hyperparameters of contrastive-divergence training that every estimator which trains RBMs takes: RBM and
DBN directly (the DBN passes them to each layer), DBNClassifier, DBNRegressor and DeepAutoencoder through
``pretraining=DBN(...)``, the sequence models all but ``persistent`` (see :data:`SEQUENCE_CD_PARAMETERS`)."""
from numbers import Integral, Real
from dataclasses import fields

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ..training import PRECISIONS, SAMPLERS, SCHEDULES, CDConfig

# Hyperparameters of CD training, shared with the DBN estimator, which passes them on to each layer.
CD_PARAMETER_CONSTRAINTS = {
    "lr_schedule": [StrOptions(set(SCHEDULES))],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "k": [Interval(Integral, 1, None, closed="left")],
    "persistent": ["boolean"],
    "sampler": [StrOptions(set(SAMPLERS))],
    "n_temperatures": [Interval(Integral, 2, None, closed="left")],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "final_momentum": [Interval(Real, 0, 1, closed="left")],
    "momentum_switch": [Interval(Integral, 0, None, closed="left")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    "sparsity_cost": [Interval(Real, 0, None, closed="left")],
    "centering": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "shuffle": ["boolean"],
    "device": [str, torch.device],
    "precision": [StrOptions(set(PRECISIONS))],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}
CD_PARAMETERS = tuple(CD_PARAMETER_CONSTRAINTS)
# The persistent samplers beyond Gibbs chains (training.samplers), for dense RBMs only.
SAMPLER_PARAMETERS = ("sampler", "n_temperatures")

# A conditional RBM's negative chains cannot persist: every training row has its own history, hence its own model
# p(v_t | u_t), and a chain left by one row's update would continue under another row's biases.
SEQUENCE_CD_PARAMETERS = tuple(name for name in CD_PARAMETERS if name not in ("persistent", *SAMPLER_PARAMETERS))

# CDConfig's names for the CD parameters that differ from the estimators' (the rest are the same).
_CONFIG_NAMES = {"lr_schedule": "schedule"}


def cd_config(estimator, learning_rate):
    """The :class:`CDConfig` of ``estimator``'s CD parameters (those of :data:`CD_PARAMETERS` it takes) at
    ``learning_rate``, its schedule spanning the estimator's ``n_iter`` epochs."""
    taken = {_CONFIG_NAMES.get(name, name): getattr(estimator, name) for name in CD_PARAMETERS
             if hasattr(estimator, name)}
    return CDConfig(learning_rate=learning_rate, n_epochs=estimator.n_iter,
                    **{f.name: taken[f.name] for f in fields(CDConfig) if f.name in taken})
