"""Figures of filters, training curves and sequences. Each function returns a matplotlib Figure; ``save=`` writes a PNG.

Figures are built without pyplot, so nothing here needs a display or changes the global backend.
"""
import math

import numpy as np
from matplotlib.figure import Figure


def _save(fig, save):
    if save is not None:
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def _image_shape(n_features, image_shape):
    if image_shape is not None:
        if int(np.prod(image_shape)) != n_features:
            raise ValueError(f"image_shape={tuple(image_shape)} holds {int(np.prod(image_shape))} pixels but each "
                             f"filter has {n_features} weights")
        return tuple(image_shape)
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(f"filters of {n_features} weights are not square images; pass image_shape=(rows, cols)")
    return side, side


def plot_filters(model, image_shape=None, n_filters=64, save=None):
    """The first ``n_filters`` first-layer weight vectors as images, each scaled to its own range.

    Parameters
    ----------
    model : fitted RBM or DBN (its first RBM), ConvRBM or ConvDBN (the first channel of its first layer's filters, or
        colour for three channels), or array of shape (n_hidden, n_features)
    image_shape : (rows, cols) or None for square images (not used for convolutional models)
    n_filters : int
    save : path or None
    """
    if hasattr(model, "rbms_"):
        model = model.rbms_[0]
    if hasattr(model, "filters_"):  # a convolutional model: (K, C, f_h, f_w) filters, colour when C is 3
        filters = np.asarray(model.filters_, dtype=np.float64)[:n_filters]
        weights = (filters.transpose(0, 2, 3, 1) if filters.shape[1] == 3 else filters[:, 0]).reshape(len(filters), -1)
        shape = filters.shape[2:] + ((3,) if filters.shape[1] == 3 else ())
        if len(shape) == 3:  # RGB needs values in [0, 1]: each filter scaled to its own range
            low, high = weights.min(1, keepdims=True), weights.max(1, keepdims=True)
            weights = (weights - low) / np.where(high > low, high - low, 1.0)
    else:
        weights = np.asarray(model.components_ if hasattr(model, "components_") else model, dtype=np.float64)
        weights = weights[:n_filters]
        shape = _image_shape(weights.shape[1], image_shape)
    cols = math.ceil(math.sqrt(len(weights)))
    rows = math.ceil(len(weights) / cols)
    fig = Figure(figsize=(cols * 0.9, rows * 0.9))
    for i, w in enumerate(weights):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(w.reshape(shape), cmap="gray", interpolation="nearest")
        ax.set_axis_off()
    fig.suptitle("first-layer filters")
    return _save(fig, save)


def plot_history(model, key="reconstruction_error", save=None):
    """Training curves: the per-epoch monitor ``key`` of an RBM or of each layer of a DBN, or the fine-tuning loss
    (and validation score, with early stopping) of a DBNClassifier / DBNRegressor.

    Parameters
    ----------
    model : fitted RBM, DBN, DBNClassifier or DBNRegressor, or a ``history_``
    key : str, a monitor name in the pretraining history
    save : path or None
    """
    if hasattr(model, "loss_curve_"):
        return _save(_fine_tuning_curves(model), save)
    history = model.history_ if hasattr(model, "history_") else model
    layers = history if history and isinstance(history[0], list) else [history]
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 1, 1)
    for layer, epochs in enumerate(layers):
        if epochs and key not in epochs[0]:
            raise ValueError(f"the history has no {key!r}; it has {sorted(epochs[0])}")
        ax.plot(np.arange(1, len(epochs) + 1), [m[key] for m in epochs], marker="o", label=f"layer {layer + 1}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " "))
    if len(layers) > 1:
        ax.legend()
    return _save(fig, save)


def _fine_tuning_curves(model):
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 1, 1)
    epochs = np.arange(1, len(model.loss_curve_) + 1)
    ax.plot(epochs, model.loss_curve_, label="training loss")
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel("loss")
    if model.validation_scores_:
        other = ax.twinx()
        other.plot(epochs, model.validation_scores_, color="tab:orange", label="validation score")
        other.set_ylabel("validation score")
    return fig


def plot_predictions(X, y_true, y_pred, image_shape=None, n_images=20, save=None):
    """A grid of images titled with their true and predicted labels (mistakes in red).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y_true, y_pred : arrays of shape (n_samples,)
    image_shape : (rows, cols) or None for square images
    n_images : int
    save : path or None
    """
    X = np.asarray(X)[:n_images]
    shape = _image_shape(X.shape[1], image_shape)
    cols = min(10, len(X))
    rows = math.ceil(len(X) / cols)
    fig = Figure(figsize=(cols * 1.2, rows * 1.4))
    for i, (image, true, pred) in enumerate(zip(X, y_true, y_pred)):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(image.reshape(shape), cmap="gray_r", interpolation="nearest")
        ax.set_title(f"label {true}\npred {pred}", fontsize=8, color="black" if true == pred else "red")
        ax.set_axis_off()
    return _save(fig, save)


def _image_grid(rows_of_images, shape, row_titles=None, cmap="gray_r"):
    n_rows, n_cols = len(rows_of_images), max(len(r) for r in rows_of_images)
    fig = Figure(figsize=(n_cols * 0.9, n_rows * 1.0))
    for r, images in enumerate(rows_of_images):
        for c, image in enumerate(images):
            ax = fig.add_subplot(n_rows, n_cols, r * n_cols + c + 1)
            ax.imshow(np.asarray(image).reshape(shape), cmap=cmap, interpolation="nearest")
            ax.set_axis_off()
            if c == 0 and row_titles is not None:
                ax.set_title(row_titles[r], fontsize=8, loc="left")
    return fig


def plot_samples(X, image_shape=None, n_cols=10, save=None):
    """Generated (or any) images in a grid, ``n_cols`` per row.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), e.g. from ``DBN.generate`` or ``RBM.sample``
    image_shape : (rows, cols) or None for square images
    n_cols : int
    save : path or None
    """
    X = np.asarray(X)
    shape = _image_shape(X.shape[1], image_shape)
    rows = [X[i:i + n_cols] for i in range(0, len(X), n_cols)]
    return _save(_image_grid(rows, shape), save)


def plot_reconstructions(model, X, image_shape=None, n_images=10, save=None, **reconstruct_params):
    """Originals (top row) above their reconstructions by ``model.reconstruct`` (bottom row).

    Parameters
    ----------
    model : fitted RBM or DBN
    X : array of shape (n_samples, n_features)
    image_shape : (rows, cols) or None for square images
    n_images : int
    save : path or None
    **reconstruct_params : passed to ``model.reconstruct``
    """
    X = np.asarray(X)[:n_images]
    shape = _image_shape(X.shape[1], image_shape)
    fig = _image_grid([X, model.reconstruct(X, **reconstruct_params)], shape, ["data", "reconstruction"])
    return _save(fig, save)


def plot_embedding(Z, labels=None, save=None):
    """A 2-D scatter of codes ``Z`` (e.g. a DBN's 2-unit top layer, or a TSNE of its features), coloured by label.

    Parameters
    ----------
    Z : array of shape (n_samples, 2)
    labels : array of shape (n_samples,) or None
    save : path or None
    """
    Z = np.asarray(Z)
    if Z.ndim != 2 or Z.shape[1] != 2:
        raise ValueError(f"plot_embedding needs codes of shape (n_samples, 2); got {Z.shape}. Reduce them first, "
                         "e.g. with sklearn.manifold.TSNE(n_components=2)")
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot(1, 1, 1)
    if labels is None:
        ax.scatter(Z[:, 0], Z[:, 1], s=6)
    else:
        labels = np.asarray(labels)
        for value in np.unique(labels):
            chosen = labels == value
            ax.scatter(Z[chosen, 0], Z[chosen, 1], s=6, label=str(value))
        ax.legend(markerscale=3, fontsize=8, loc="best")
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    return _save(fig, save)


def _sequence_kind(frames, image_shape, kind):
    if kind not in ("auto", "video", "motion"):
        raise ValueError(f"kind={kind!r}; expected 'auto', 'video' or 'motion'")
    n_features = frames.shape[1]
    if kind == "auto":
        kind = "video" if image_shape is not None or (n_features >= 16 and math.isqrt(n_features) ** 2 == n_features) \
            else "motion"
    return kind, (_image_shape(n_features, image_shape) if kind == "video" else None)


def _frames(frames):
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or len(frames) == 0:
        raise ValueError(f"frames must be an array of shape (n_frames, n_features) with n_frames >= 1; "
                         f"got shape {frames.shape}")
    return frames


def plot_sequence(frames, image_shape=None, n_frames=10, kind="auto", channel_names=None, save=None):
    """A strip of a sequence: video frames side by side, or each motion channel's value over time.

    Parameters
    ----------
    frames : array of shape (n_frames, n_features), e.g. from ``ConditionalRBM.generate``
    image_shape : (rows, cols) or None (square images)
    n_frames : int
        Video: frames shown, evenly spaced over the sequence.
    kind : {'auto', 'video', 'motion'}
        'auto' shows square frames of at least 16 values (or any frames with ``image_shape``) as video.
    channel_names : list of str or None (motion legend)
    save : path or None
    """
    frames = _frames(frames)
    kind, shape = _sequence_kind(frames, image_shape, kind)
    if kind == "video":
        picks = np.unique(np.linspace(0, len(frames) - 1, min(n_frames, len(frames))).round().astype(int))
        fig = _image_grid([frames[picks]], shape)
        for ax, t in zip(fig.axes, picks):
            ax.set_title(f"t={t}", fontsize=8)
        return _save(fig, save)
    fig = Figure(figsize=(8, 3))
    ax = fig.add_subplot(1, 1, 1)
    for i in range(frames.shape[1]):
        ax.plot(frames[:, i], lw=1, label=None if channel_names is None else channel_names[i])
    ax.set_xlabel("frame")
    ax.set_ylabel("value")
    if channel_names is not None:
        ax.legend(fontsize=6, ncol=4)
    return _save(fig, save)


def save_animation(frames, path, image_shape=None, fps=10, kind="auto", scale=4):
    """Write an animated GIF of a sequence: video frames as images (each pixel ``scale`` x ``scale``), motion
    frames as a bar chart of the channels on a fixed axis.

    Parameters
    ----------
    frames : array of shape (n_frames, n_features)
    path : str or Path of the .gif to write
    image_shape, kind : as :func:`plot_sequence`
    fps : int, frames per second
    scale : int, pixel magnification of video frames
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    frames = _frames(frames)
    kind, shape = _sequence_kind(frames, image_shape, kind)
    if kind == "video":
        lo, hi = frames.min(), frames.max()
        pixels = ((frames - lo) / (hi - lo if hi > lo else 1.0) * 255).astype(np.uint8)
        images = [Image.fromarray(p.reshape(shape)).resize((shape[1] * scale, shape[0] * scale), Image.NEAREST)
                  for p in pixels]
    else:
        images = []
        lo, hi = frames.min(), frames.max()
        for f in frames:
            fig = Figure(figsize=(4, 2.5), dpi=60)
            ax = fig.add_subplot(1, 1, 1)
            ax.bar(np.arange(len(f)), f)
            ax.set_ylim(lo, hi if hi > lo else lo + 1)
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            images.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3]))
    images[0].save(path, save_all=True, append_images=images[1:], duration=max(1, round(1000 / fps)), loop=0)
    return path
