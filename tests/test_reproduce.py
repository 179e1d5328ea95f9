import numpy as np

from deepbelief import reproduce
from deepbelief.estimators.rbm import RBM


def test_semi_supervised_row_pretrains_once_for_both_label_counts(monkeypatch):
    trained = []
    original = RBM._train

    def counting(self, data, n_epochs, *args, **kwargs):
        trained.append(n_epochs)
        return original(self, data, n_epochs, *args, **kwargs)

    monkeypatch.setattr(RBM, "_train", counting)
    rng = np.random.default_rng(0)
    X, y = rng.random((150, 784), dtype=np.float32), np.arange(150) % 10
    budget = reproduce.Budget(pretrain_epochs=1, semi_supervised_updates=3)
    record = reproduce._row_semi_supervised(((X, y), (X[:20], y[:20])), budget, "cpu", 0)
    # Three layers trained once: the 1,000-label run resumes the finished pretraining (0 epochs left).
    assert [n for n in trained if n] == [1, 1, 1]
    assert set(record["value"]) == {"100 labels, pretrained", "100 labels, random init", "1000 labels, pretrained",
                                    "1000 labels, random init"}
    assert all(0 <= v <= 100 for v in record["value"].values())
