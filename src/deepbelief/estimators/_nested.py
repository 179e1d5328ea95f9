"""``pretraining=DBN(...)``: the nested DBN that pretrains a composite estimator (DBNClassifier, DBNRegressor,
DeepAutoencoder), checked against the estimator's own settings before it is cloned."""
from sklearn.base import clone

from .._validation import layer_sizes
from .dbm import DBM
from .dbn import DBN


def nested_dbn(owner, seed, takes_over, models=(DBN,), **settings):
    """An unfitted clone of ``owner.pretraining`` with ``settings`` (the DBN parameters the owner decides: where
    and how verbosely it runs, its visible units) and, when the owner has a ``random_state``, the seed ``seed``.

    ``takes_over`` maps the owner's own pretraining parameters to the DBN's that replace them: beside a nested DBN
    they must keep their defaults, and the network's layer sizes must be left out or equal. ``models``: the classes
    the owner takes (the supervised estimators take a DBM too). ValueError otherwise, naming the remedy."""
    dbn, name = owner.pretraining, type(owner).__name__
    if not isinstance(dbn, models) or getattr(dbn, "n_labels", None) is not None:
        what = "DBN without label units (n_labels=None)" + (" or DBM" if DBM in models else "")
        raise ValueError(f"{name}(pretraining=...) takes an unfitted {what}; got {dbn!r}")
    if owner.pretrain is False:
        raise ValueError(f"{name}(pretrain=False, pretraining=DBN(...)) asks for no pretraining and for one; "
                         "drop one of them")
    defaults = type(owner)().get_params(deep=False)
    for own, nested in takes_over.items():
        if getattr(owner, own) != defaults[own]:
            raise ValueError(f"{name}({own}={getattr(owner, own)!r}) and pretraining=DBN(...) both set the "
                             f"pretraining; set {nested}= on the nested DBN instead")
    sizes = layer_sizes(owner.hidden_layer_sizes)
    if sizes != layer_sizes(defaults["hidden_layer_sizes"]) and sizes != layer_sizes(dbn.hidden_layer_sizes):
        raise ValueError(f"{name}(hidden_layer_sizes={owner.hidden_layer_sizes!r}) differs from the nested DBN's "
                         f"{dbn.hidden_layer_sizes!r}; the network takes the nested DBN's: leave it out here "
                         "or make them equal")
    if dbn.visible != "auto" and owner.visible_ != dbn.visible:
        raise ValueError(f"{name}(visible={owner.visible!r}) differs from the nested DBN's visible={dbn.visible!r}; "
                         "the network and its pretraining need the same visible units: set both, or leave "
                         "the nested DBN's at 'auto'")
    dbn = clone(dbn).set_params(visible=owner.visible_, **settings)
    if owner.random_state is not None:
        dbn.set_params(random_state=seed)
    return dbn
