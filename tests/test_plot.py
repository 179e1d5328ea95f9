import numpy as np
import pytest
from matplotlib.figure import Figure

from deepbelief import DBN, DBNClassifier, RBM
from deepbelief.plot import (plot_embedding, plot_filters, plot_history, plot_predictions, plot_reconstructions,
                             plot_samples)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def models(digits):
    X, y = digits
    return (RBM(n_components=16, n_iter=2, random_state=0).fit(X),
            DBN(hidden_layer_sizes=(16, 2), n_iter=2, random_state=0, validation_fraction=0.1).fit(X),
            DBNClassifier(hidden_layer_sizes=(16,), n_iter=1, max_iter=3, early_stopping=True,
                          random_state=0).fit(X, y))


@pytest.mark.slow
def test_every_plot_returns_a_figure_and_writes_a_png(models, digits, tmp_path):
    X, y = digits
    rbm, dbn, clf = models
    figures = {
        "filters": plot_filters(rbm, image_shape=(8, 8)),
        "history_rbm": plot_history(rbm),
        "history_dbn": plot_history(dbn, key="free_energy_gap"),
        "history_clf": plot_history(clf),
        "samples": plot_samples(dbn.generate(20, n_gibbs=2, burn_in=2, random_state=0)),
        "reconstructions": plot_reconstructions(dbn, X, n_images=6),
        "embedding": plot_embedding(dbn.transform(X), y),
        "predictions": plot_predictions(X, y, clf.predict(X)),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        fig.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG
    plot_samples(X[:5], save=tmp_path / "direct.png")
    assert (tmp_path / "direct.png").read_bytes()[:8] == PNG
    assert len(figures["filters"].axes) == 16 and len(figures["reconstructions"].axes) == 12


def test_plot_errors_name_the_problem(models, digits):
    X, _ = digits
    rbm, dbn, _ = models
    with pytest.raises(ValueError, match="not square images; pass image_shape"):
        plot_samples(np.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"image_shape=\(3, 3\) holds 9 pixels but each filter has 64"):
        plot_filters(rbm, image_shape=(3, 3))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\); got \(1797, 16\)"):
        plot_embedding(dbn.transform(X, layer=0))
    with pytest.raises(ValueError, match="the history has no 'nope'"):
        plot_history(rbm, key="nope")
