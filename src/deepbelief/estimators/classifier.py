"""DBNClassifier: greedy pretraining, then backpropagation with a softmax (or sigmoid) output layer."""
import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets

from .. import io
from .._runtime import memory_errors
from .._validation import check_X_y
from ..callbacks import reports
from ..data.streaming import is_streamed
from ._stream import streamed_X_y
from .supervised import SupervisedDBN


class DBNClassifier(ClassifierMixin, SupervisedDBN):
    """Deep belief network classifier: greedy RBM pretraining, then fine-tuning of the pretrained weights with
    a softmax (multiclass) or sigmoid (binary) output layer by backpropagation.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256, 256)
    visible : {'auto', 'bernoulli', 'gaussian', 'relu'}, default='auto'
        Bernoulli units need X in [0, 1]; Gaussian units take real-valued X (standardised internally).
        'auto' (the default) chooses at ``fit``: Bernoulli units when the training data lie in [0, 1] (within
        1e-5) and at least a quarter of the values are 0 or 1 (binary data, images), else Gaussian units with the
        per-feature standardisation (so a MinMaxScaler's continuous output is standardised); the choice is the
        fitted attribute ``visible_`` (and is printed with ``verbose``).
    pretrain : bool, 'rbm' or 'rectified', default=True
        'rbm': greedy CD training of RBMs whose hidden units match ``activation`` (Bernoulli for 'sigmoid', noisy
        rectified linear for 'relu'). 'rectified': the older ``dbn`` package's rectified CD rule
        (:func:`deepbelief.training.rectified_cd`), which pretrains ReLU networks better than 'rbm' on digits and
        worse on MNIST (see BENCHMARKS.md) and is not an energy model, so ``dbn_`` is for ``transform``, not for
        sampling; data must be >= 0. True: 'rectified' for ``activation='relu'`` with non-Gaussian visible units,
        else 'rbm'. False trains the identical network from Glorot-uniform random weights (the baseline).
    pretraining : DBN or None, default=None
        The pretraining as an unfitted :class:`DBN` (cloned at ``fit``), so that every CD option of the DBN reaches
        it (``centering``, sparsity, ``momentum``, ``weight_decay``, ``persistent``, ...): e.g.
        ``DBNClassifier(pretraining=DBN((500, 500), n_iter=20, centering=True))``. Its ``hidden_layer_sizes`` are
        the network's; its ``hidden`` units must match ``activation`` ('bernoulli' for 'sigmoid', 'relu' for
        'relu') and its ``visible`` units ``visible``. It runs on this estimator's ``device``, ``checkpoint_dir``
        and ``verbose``, seeded from ``random_state`` when that is set. ``n_iter``, ``learning_rate_rbm``,
        ``lr_schedule_rbm``, ``k`` and ``persistent`` must then keep their defaults (set them on the DBN).
        ``pretrain=True`` trains it with CD as given; ``'rectified'`` applies the rectified rule to its sizes,
        rates and epochs. None: a DBN built from this estimator's pretraining parameters (the same as before
        this parameter existed).
    revive_dead_units : bool, default=True
        A pretrained ReLU unit that is zero on every training row gets no gradient, so fine-tuning could never
        use it; with True such units (layer by layer from the bottom) start fine-tuning from fresh Glorot-uniform
        weights and a zero bias instead, and ``revived_units_`` counts them per layer. RBM pretraining on
        independent features (scikit-learn's make_friedman1) leaves whole layers dead, and ReLU-RBM pretraining
        on digits about half the units (BENCHMARKS.md). Only ReLU networks after pretraining; False keeps the
        pretrained weights as they are (every result measured before 2026-12-03).
    n_iter : int or one per layer, default=10
        Pretraining epochs per layer.
    learning_rate_rbm : float, 'auto', or one per layer, default='auto'
        Pretraining (CD) learning rate, see :class:`RBM`. For the rectified rule 'auto' is the smaller of 0.05 and
        0.8 divided by the mean squared norm of the layer's input rows (0.05 on digits, 0.0091 on MNIST).
    lr_schedule_rbm : {'constant', 'linear', 'cosine'}, default='constant'
        Pretraining learning-rate schedule over each layer's ``n_iter`` epochs, for both pretraining rules;
        'linear' decays the rate to 0 (worth 9.7 nats of test log-likelihood to a PCD RBM on MNIST, see
        BENCHMARKS.md).
    k, persistent : CD-k steps and persistent CD for pretraining.
    activation : {'sigmoid', 'relu'}, default='relu'
        Hidden activation during fine-tuning; pretraining uses the matching RBM hidden units (Bernoulli for
        'sigmoid', noisy rectified linear for 'relu'), so the pretrained features keep their meaning. After
        ``pretraining=DBM(...)`` the network keeps the DBM's sigmoid units.
    optimizer : {'adam', 'sgd'}, default='sgd'
    learning_rate : float, default=0.2
        Fine-tuning learning rate.
    lr_schedule : {'constant', 'linear', 'cosine'}, default='cosine'
        'linear' and 'cosine' decay the learning rate to 0 over ``max_iter`` epochs.
    momentum : float, default=0.5
        SGD momentum.
    weight_decay : float, default=0.0
        L2 penalty on the weights during fine-tuning.
    max_norm : float or None, default=None
        Max-norm regularisation (Srivastava et al. 2014, with dropout): after every fine-tuning update, each hidden
        unit's incoming weight vector is rescaled to L2 norm ``max_norm`` if it is longer (the output layer is
        left free). None: no bound. Pretrained weights are often longer than the bounds used with random starts
        (3 to 4); a smaller bound cuts them at the first update, with a warning.
    ema_decay : float in (0, 1) or None, default=None
        Keep an exponential moving average of the fine-tuned weights (Polyak averaging), updated after every
        mini-batch with decay ``min(ema_decay, (1 + t) / (10 + t))`` at update t; the average is what early
        stopping scores and keeps, and the fitted network. 0.999 averages over roughly the last 1000 updates.
        None: the network ends with its last (or best) weights.
    dropout, input_dropout : float, default=0.2, 0.2
        Dropout rate after every hidden layer, and on the inputs.
    max_iter : int, default=100
        Fine-tuning epochs (at most, with early stopping).
    batch_size : int, default=64
        Rows per update, for pretraining and fine-tuning.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the labelled rows (stratified), stop after ``n_iter_no_change`` epochs
        without an accuracy gain of ``tol``, and keep the best epoch's weights.
    validation_fraction, n_iter_no_change, tol
    checkpoint_dir : path or None, default=None
        Write checkpoints there every ``checkpoint_every`` epochs of RBM pretraining (``pretraining.ckpt``) and of
        fine-tuning (``fine_tuning.ckpt``); ``fit(X, y, resume=True)`` continues from them and ends with the
        same parameters as an uninterrupted fit. (The fast rectified pretraining is redone rather than
        checkpointed.)
    checkpoint_every : int, default=1
    device : 'cpu', 'cuda', 'cuda:N' or 'auto'
    precision : {'float32', 'tf32', 'bfloat16'}, default='float32'
        Precision of the matrix products in pretraining (RBM rule) and in the fine-tuning forward pass; see
        :class:`RBM`. The rectified pretraining rule always runs in float32.
    random_state : int, RandomState or None
    verbose : bool
        Progress bars for every pretraining layer and for fine-tuning.
    callbacks : list of :class:`deepbelief.callbacks.Callback` or callables, default=None
        Each is called with a :class:`deepbelief.callbacks.Epoch` after every epoch of every stage of the fit
        (pretraining layers, fine-tuning, up-down, joint training); one may end the stage. Not saved with the model.

    The defaults differ from :class:`DBNRegressor`'s where a classifier gains: ReLU fine-tuning of rectified-RBM
    pretraining, SGD with momentum 0.5 and a cosine schedule from 0.2, dropout 0.2 on the inputs and hidden layers,
    batches of 64 (chosen on scikit-learn's digits with ``benchmarks/digits.py``, see BENCHMARKS.md).

    Semi-supervised use: rows whose label is -1 (scikit-learn's convention, numeric labels) are used for
    pretraining only; fine-tuning uses the labelled rows.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    dbn_ : DBN or None
        The pretrained DBN (None with ``pretrain=False``).
    network_ : torch.nn.Sequential
        The fine-tuned network (outputs logits).
    loss_curve_ : list of float
        Mean training loss per epoch.
    validation_scores_ : list of float or None
        Validation accuracy per epoch (with early stopping).
    best_validation_score_ : float or None
    n_iter_ : int
        Fine-tuning epochs run.
    revived_units_ : tuple of int
        Per hidden layer, the pretrained units ``revive_dead_units`` re-drew (zeros when none were, or without it).
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepbelief import DBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DBNClassifier(hidden_layer_sizes=(64,), n_iter=2, max_iter=5, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    def __init__(self, hidden_layer_sizes=(256, 256), *, visible="auto", pretrain=True, pretraining=None,
                 revive_dead_units=True, n_iter=10,
                 learning_rate_rbm="auto", lr_schedule_rbm="constant", k=1, persistent=False, activation="relu",
                 optimizer="sgd", learning_rate=0.2, lr_schedule="cosine", momentum=0.5, weight_decay=0.0,
                 max_norm=None, ema_decay=None, dropout=0.2, input_dropout=0.2, max_iter=100, batch_size=64,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, checkpoint_dir=None,
                 checkpoint_every=1, device="cpu", precision="float32", random_state=None, verbose=False,
                 callbacks=None):
        super().__init__(
            hidden_layer_sizes, visible=visible, pretrain=pretrain, pretraining=pretraining,
            revive_dead_units=revive_dead_units, n_iter=n_iter, learning_rate_rbm=learning_rate_rbm,
            lr_schedule_rbm=lr_schedule_rbm, k=k, persistent=persistent, activation=activation, optimizer=optimizer,
            learning_rate=learning_rate, lr_schedule=lr_schedule, momentum=momentum, weight_decay=weight_decay,
            max_norm=max_norm, ema_decay=ema_decay, dropout=dropout, input_dropout=input_dropout, max_iter=max_iter,
            batch_size=batch_size, early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every, device=device, precision=precision, random_state=random_state,
            verbose=verbose, callbacks=callbacks)

    @reports
    @memory_errors
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, resume=False):
        """Pretrain on all rows of X, fine-tune on the labelled ones.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (n_samples, n_features) (densified one mini-batch at a
            time), or the path of a .npy file / a np.memmap of one, which is
            streamed block by block (pretraining with pretrain='rbm', fine-tuning with a block-wise shuffle; the
            early-stopping rows are read into memory; no checkpoints)
        y : array-like of shape (n_samples,); -1 marks an unlabelled row (numeric labels)
        resume : bool, default=False
            Continue from the checkpoints in ``checkpoint_dir``, with the same result as an uninterrupted fit.

        Returns
        -------
        self
        """
        streamed = is_streamed(X)
        X, y = streamed_X_y(self, X, y) if streamed else check_X_y(self, X, y, units=None)
        check_classification_targets(y)  # before the range check: a continuous target is the clearer complaint
        if not streamed:  # streamed rows: their pass in _fit_network checks them and picks visible_
            X = self._fit_visible(X)
        labelled = (y != -1) if np.issubdtype(y.dtype, np.number) else np.ones(len(y), bool)
        if not labelled.any():
            raise ValueError("y has no labelled rows: every label is -1 (unlabelled); fine-tuning needs labels")
        self.classes_, targets = np.unique(y[labelled], return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has only 1 class ({self.classes_[0]!r}) among its labelled rows; a classifier "
                             "needs at least 2 classes (labels of -1 mark unlabelled rows)")
        binary = len(self.classes_) == 2
        if binary:
            Y = targets.astype(np.float32)[:, None]

            def loss_fn(out, t):
                return torch.nn.functional.binary_cross_entropy_with_logits(out, t)

            def score_fn(out, t):
                return ((out > 0).float() == t).float().mean().item()
        else:
            Y = targets.astype(np.int64)
            loss_fn = torch.nn.functional.cross_entropy

            def score_fn(out, t):
                return (out.argmax(1) == t).float().mean().item()

        # a stratified hold-out needs every class twice and at least one row per class on each side
        counts, n_valid = np.bincount(targets), self._n_validation(len(targets))
        stratify = targets if (self.early_stopping and counts.min() >= 2
                               and min(n_valid, len(targets) - n_valid) >= len(counts)) else None
        self._fit_network(X, X[labelled], Y, 1 if binary else len(self.classes_), loss_fn, score_fn, stratify,
                          resume=resume)
        return self

    def _target_state(self):
        return {"classes": io.encode_array(self.classes_)}

    def _set_target_state(self, state):
        self.classes_ = io.decode_classes(state["classes"])
        if self.classes_.ndim != 1 or len(self.classes_) < 2:
            raise ValueError("the saved classes must be a list of at least 2 labels")

    def _n_outputs(self):
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes (positive = ``classes_[1]``), else (n_samples, n_classes)."""
        out = self._outputs(self._check_predict_X(X))
        return out[:, 0] if len(self.classes_) == 2 else out

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), rows summing to 1."""
        logits = self.decision_function(X).astype(np.float64)
        if len(self.classes_) == 2:
            p = 1.0 / (1.0 + np.exp(-logits))
            return np.column_stack([1 - p, p])
        logits -= logits.max(1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted labels, of the type of the labels given to ``fit``."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if len(self.classes_) == 2 else scores.argmax(1)
        return self.classes_[index]
