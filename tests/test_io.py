import json
import os

import numpy as np
import pytest
from safetensors.numpy import save_file
from sklearn.datasets import load_digits

import deepbelief as db
from deepbelief import io
from deepbelief.errors import ModelFileError


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def fitted_models(X, y):
    names = np.array(list("abcdefghij"))[y]
    return [
        (db.RBM(n_components=8, n_iter=1, random_state=0).fit(X), "transform"),
        (db.RBM(n_components=8, n_iter=1, visible="gaussian", random_state=0).fit(X * 3), "transform"),
        (db.DBN((8, 4), n_iter=1, validation_fraction=0.1, random_state=0).fit(X), "transform"),
        (db.DBN((8, 4), hidden="relu", n_iter=1, random_state=0).fit(X), "transform"),
        (db.DBNClassifier((8, 6), n_iter=1, max_iter=2, random_state=0).fit(X, y), "predict_proba"),
        (db.DBNClassifier((8,), n_iter=1, max_iter=2, early_stopping=True, random_state=0).fit(X, names),
         "predict_proba"),
        (db.DBNClassifier((8, 6), pretrain=False, max_iter=2, dropout=0.2, input_dropout=0.1,
                          random_state=0).fit(X, y > 4), "predict_proba"),
        (db.DBNRegressor((8,), n_iter=1, max_iter=2, visible="gaussian", random_state=0).fit(X * 3, np.c_[y, -y]),
         "predict"),
        (db.DeepAutoencoder((8, 3), n_iter=1, max_iter=2, random_state=0).fit(X), "transform"),
        (db.DeepAutoencoder((8, 3), visible="gaussian", n_iter=1, max_iter=2, random_state=0).fit(X * 3),
         "inverse_transform"),
        (db.AnomalyDetector(db.DBN((8, 4), n_iter=1), anomaly_score="reconstruction", random_state=0).fit(X),
         "decision_function"),
    ]


def test_round_trip_gives_identical_outputs(data, tmp_path):
    X, y = data
    for model, method in fitted_models(X, y):
        path = tmp_path / "model.dbn"
        model.save(path)
        loaded = db.load(path)
        assert type(loaded) is type(model)
        params = model.get_params(deep=False)
        if "model" in params:  # the detector's (unfitted) model comes back as an equivalent copy
            assert type(loaded.model) is type(params.pop("model"))
            assert loaded.predict(X).tolist() == model.predict(X).tolist()
        assert {k: v for k, v in loaded.get_params(deep=False).items() if k != "model"} == params
        inputs = X * 3 if getattr(model, "visible", "") == "gaussian" else X
        if method == "inverse_transform":
            inputs = model.transform(inputs)
        np.testing.assert_array_equal(getattr(loaded, method)(inputs), getattr(model, method)(inputs))
        if hasattr(model, "classes_"):
            np.testing.assert_array_equal(loaded.classes_, model.classes_)
            assert loaded.classes_.dtype == model.classes_.dtype


def test_loaded_rbm_continues_training(data, tmp_path):
    X, _ = data
    rbm = db.RBM(n_components=8, n_iter=2, random_state=0).fit(X)
    rbm.save(tmp_path / "rbm.dbn")
    loaded = db.load(tmp_path / "rbm.dbn")
    assert loaded.history_ == rbm.history_ and loaded.n_iter_ == 2
    loaded.partial_fit(X[:64])
    assert not np.array_equal(loaded.components_, rbm.components_)


def test_no_pickle_in_the_file(data, tmp_path):
    X, y = data
    db.DBNClassifier((8,), n_iter=1, max_iter=1, random_state=0).fit(X, y).save(tmp_path / "m.dbn")
    raw = (tmp_path / "m.dbn").read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])  # plain JSON header, then raw float32 data
    assert header["__metadata__"]["format"] == "deepbelief" and b"\x80\x04" not in raw[:8 + size]


@pytest.fixture(scope="module")
def small_file(data, tmp_path_factory):
    X, y = data
    path = tmp_path_factory.mktemp("m") / "small.dbn"
    db.DBNClassifier((4,), n_iter=1, max_iter=1, random_state=0).fit(X[:, :16], y).save(path)
    return path.read_bytes()


@pytest.mark.slow
def test_every_truncation_is_a_model_file_error(small_file, tmp_path):
    path = tmp_path / "cut.dbn"
    for end in range(0, len(small_file)):
        path.write_bytes(small_file[:end])
        with pytest.raises(ModelFileError):
            db.load(path)


def test_random_byte_flips_are_model_file_errors(small_file, tmp_path, data):
    # A flip either raises the library's error or leaves an equivalent file (e.g. header padding turned into
    # other JSON whitespace), which must then load the very same model.
    X, _ = data
    path = tmp_path / "flip.dbn"
    path.write_bytes(small_file)
    reference = db.load(path).predict_proba(X[:50, :16])
    rng = np.random.default_rng(0)
    errors = 0
    for _ in range(300):
        corrupted = bytearray(small_file)
        for position in rng.integers(0, len(corrupted), size=rng.integers(1, 4)):
            corrupted[position] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(corrupted))
        try:
            model = db.load(path)
        except ModelFileError:
            errors += 1
        else:
            np.testing.assert_array_equal(model.predict_proba(X[:50, :16]), reference)
    assert errors >= 290


def rewrite(small_file, path, edit_state=None, edit_metadata=None, tensors_extra=None):
    """Write a file whose metadata or tensors were changed, with a valid checksum (a hostile, not a corrupted file)."""
    from safetensors.torch import load as load_bytes
    from safetensors.torch import save as save_bytes
    size = int.from_bytes(small_file[:8], "little")
    metadata = json.loads(small_file[8:8 + size])["__metadata__"]
    state = json.loads(metadata["state"])
    if edit_state:
        edit_state(state)
    metadata["state"] = json.dumps(state)
    if edit_metadata:
        edit_metadata(metadata)
    tensors = load_bytes(small_file)
    tensors.update(tensors_extra or {})
    metadata.pop("sha256")
    unsigned = save_bytes(tensors, metadata=metadata)
    metadata["sha256"] = io.bound_checksum(unsigned, metadata)
    path.write_bytes(save_bytes(tensors, metadata=metadata))


@pytest.mark.parametrize("edit, message", [
    (dict(edit_metadata=lambda m: m.update(format_version="99")), "format 99.*Upgrade deepbelief"),
    (dict(edit_metadata=lambda m: m.update({"class": "Evil"})), "unknown model class 'Evil'"),
    (dict(edit_state=lambda s: s.update(n_features_in=10**12)), "inconsistent DBNClassifier"),
    (dict(edit_state=lambda s: s["params"].update(hidden_layer_sizes=[5])), "inconsistent DBNClassifier"),
    (dict(edit_state=lambda s: s["params"].update(activation="__import__('os')")), "inconsistent DBNClassifier"),
    (dict(edit_state=lambda s: s.update(classes={"dtype": "<i8", "values": [1]})), "at least 2 labels"),
    (dict(edit_state=lambda s: s.pop("loss_curve")), "inconsistent DBNClassifier"),
])
def test_hostile_metadata_is_a_model_file_error(small_file, tmp_path, edit, message):
    path = tmp_path / "hostile.dbn"
    rewrite(small_file, path, **edit)
    with pytest.raises(ModelFileError, match=message):
        db.load(path)


def test_extra_tensors_are_refused(small_file, tmp_path):
    import torch
    path = tmp_path / "extra.dbn"
    rewrite(small_file, path, tensors_extra={"network.9.weight": torch.zeros(2, 2)})
    with pytest.raises(ModelFileError, match="inconsistent"):
        db.load(path)


def test_foreign_and_missing_files(tmp_path):
    with pytest.raises(ModelFileError, match="no model file"):
        db.load(tmp_path / "missing.dbn")
    save_file({"x": np.zeros(3, np.float32)}, tmp_path / "other.safetensors")
    with pytest.raises(ModelFileError, match="not a deepbelief model"):
        db.load(tmp_path / "other.safetensors")
    (tmp_path / "text.dbn").write_text("hello, world")
    with pytest.raises(ModelFileError, match="not a deepbelief model file"):
        db.load(tmp_path / "text.dbn")


def test_interrupted_save_keeps_the_previous_file(data, tmp_path, monkeypatch):
    X, _ = data
    path = tmp_path / "model.dbn"
    first = db.RBM(n_components=4, n_iter=1, random_state=0).fit(X)
    first.save(path)
    before = path.read_bytes()

    def crash(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        db.RBM(n_components=4, n_iter=1, random_state=1).fit(X).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.dbn"]  # no temporary file left


def test_extra_tensors_are_refused_for_every_model(data, tmp_path):
    import torch
    from safetensors.torch import load as load_bytes
    X, y = data
    for model, _ in fitted_models(X, y)[:3]:
        model.save(tmp_path / "m.dbn")
        raw = (tmp_path / "m.dbn").read_bytes()
        rewrite(raw, tmp_path / "extra.dbn", tensors_extra={"payload": torch.zeros(3)})
        assert "payload" in load_bytes((tmp_path / "extra.dbn").read_bytes())
        with pytest.raises(ModelFileError, match="tensors do not match the model.*'payload'"):
            db.load(tmp_path / "extra.dbn")


@pytest.mark.parametrize("tensor, message", [
    ({"dtype": "F32", "shape": [100000, 100000, 100000], "data_offsets": [0, 4]}, "invalid shape"),
    ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "invalid shape"),
    ({"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}, "not F32"),
    ({"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}, "invalid shape"),
])
def test_hostile_tensor_headers_are_refused_before_allocation(tensor, message, tmp_path):
    header = json.dumps({"w": tensor, "__metadata__": {"format": "deepbelief"}}).encode()
    path = tmp_path / "hostile.dbn"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    with pytest.raises(ModelFileError, match=message):
        db.load(path)


def test_save_leaves_no_debris_and_names_the_users_path(tmp_path):
    """A write killed mid-way leaves '.NAME.PID.*.tmp'; the next save to that path removes the ones whose process
    is gone (issue 44: 95 of 300 kill -9 left 266 MB). Errors name the path given, not the temporary file."""
    import subprocess
    import sys

    from deepbelief import RBM
    from deepbelief.io import write_atomic

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (tmp_path / f".model.dbn.{pid}.abc123.tmp").write_bytes(b"x" * 1000)
    (tmp_path / f".model.dbn.{os.getppid()}.live.tmp").write_bytes(b"x")  # a running process: kept
    (tmp_path / ".other.dbn.1.x.tmp").write_bytes(b"x")  # another file's: kept
    write_atomic(tmp_path / "model.dbn", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".other.dbn.1.x.tmp", f".model.dbn.{os.getppid()}.live.tmp", "model.dbn"])
    rbm = RBM(2, n_iter=1).fit(np.random.default_rng(0).random((10, 3)))
    with pytest.raises(ValueError, match="save needs a file name"):
        rbm.save("")
    with pytest.raises(IsADirectoryError, match=f"a folder, not a file name: '{tmp_path}'"):
        rbm.save(tmp_path)
    with pytest.raises(FileNotFoundError) as error:
        rbm.save(tmp_path / "nodir" / "m.dbn")
    assert error.value.filename == str(tmp_path / "nodir" / "m.dbn")


def _saved(model, tmp_path, name="m.dbn"):
    model.save(tmp_path / name)
    return (tmp_path / name).read_bytes()


def _state_edit(**changes):
    return lambda s: s.update(changes)


@pytest.mark.parametrize("make, edit, message", [
    # sizes claimed in the metadata are checked against the tensors before anything is allocated
    ("rbm", dict(edit_state=lambda s: (s["params"].update(n_components=20_000), s.update(n_features_in=20_000))),
     "saved sizes need \\(20000, 20000\\)"),
    ("classifier", dict(edit_state=lambda s: (s["params"].update(hidden_layer_sizes=[20_000]),
                                               s.update(n_features_in=20_000))), "saved sizes need"),
    ("classifier", dict(edit_state=_state_edit(classes={"dtype": "<U500000000", "values": ["a", "b"]})),
     "dtype '<U500000000'; expected a number type"),
    ("classifier", dict(edit_state=_state_edit(classes={"dtype": "<i8", "values": [1, 1, 2]})), "repeat a label"),
    ("rbm_gaussian", dict(edit_state=_state_edit(data_scale={"dtype": "<f4", "values": [0.0] * 16})),
     "scale is 0 or negative"),
    ("rbm_gaussian", dict(edit_state=_state_edit(data_scale={"dtype": "<f4", "values": [float("nan")] * 16})),
     "NaN or infinite"),
    ("rbm_gaussian", dict(edit_state=_state_edit(data_mean={"dtype": "<f4", "values": [float("inf")] * 16})),
     "NaN or infinite"),
    ("regressor", dict(edit_state=_state_edit(y_scale={"dtype": "<f8", "values": [0.0]})), "scale is 0"),
    ("regressor", dict(edit_state=_state_edit(revived_units=3)), "revived_units must be a list"),
    ("regressor", dict(edit_state=_state_edit(revived_units=[-1])), "revived_units must be an integer >= 0"),
    ("anomaly", dict(edit_state=_state_edit(offset=float("nan"))), "offset nan is not a finite number"),
    ("rbm", dict(tensors_extra={"weight": __import__("torch").full((4, 16), float("nan"))}),
     "NaN or infinite values in tensor 'weight'"),
    ("rbm", dict(edit_metadata=lambda m: m.update(state="[" * 100_000 + "]" * 100_000)), "the 'state' JSON"),
    ("rbm", dict(raw_metadata=lambda m: m.update(format_version=None)), "no valid format version"),
    ("rbm", dict(raw_metadata=lambda m: m.update(state={"params": {}})), "the 'state' JSON"),
])
def test_a_re_signed_file_that_describes_nonsense_is_refused(data, tmp_path, monkeypatch, make, edit, message):
    """Files whose checksum an attacker recomputed: their content must still make sense (issue 44)."""
    from deepbelief.estimators._layer import RBMLayer

    X, y = data
    X = X[:, :16]
    models = {"rbm": lambda: db.RBM(4, n_iter=1, random_state=0).fit(X),
              "rbm_gaussian": lambda: db.RBM(4, visible="gaussian", n_iter=1, random_state=0).fit(X * 5),
              "classifier": lambda: db.DBNClassifier((4,), n_iter=1, max_iter=1, random_state=0).fit(X, y),
              "regressor": lambda: db.DBNRegressor((4,), n_iter=1, max_iter=1, random_state=0).fit(X, y * 1.0),
              "anomaly": lambda: db.AnomalyDetector(db.RBM(4, n_iter=1), random_state=0).fit(X)}
    raw = _saved(models[make](), tmp_path)
    if "raw_metadata" in edit:  # values safetensors itself would not write: the header by hand, re-signed
        size = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + size])
        metadata = header["__metadata__"]
        edit["raw_metadata"](metadata)
        metadata["sha256"] = io.bound_checksum(raw, metadata)
        text = json.dumps(header).encode()
        (tmp_path / "bad.dbn").write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + size:])
    else:
        rewrite(raw, tmp_path / "bad.dbn", **edit)
    real = RBMLayer.begin

    def bounded(self, n_inputs):  # building a model of the claimed size would allocate it
        assert n_inputs * self.rbm.n_components < 10**7, "allocated before the sizes were checked"
        return real(self, n_inputs)

    monkeypatch.setattr(RBMLayer, "begin", bounded)
    with pytest.raises(ModelFileError, match=message):
        db.load(tmp_path / "bad.dbn")


def test_the_checksum_binds_each_tensor_to_its_name(data, tmp_path):
    """Swapping the positions of two same-shaped tensors in the header (bytes untouched) is refused: format 2's
    checksum covers the header's entries (format 1's covered the bytes only, so this loaded a different model)."""
    X, _ = data
    raw = _saved(db.DBN((16, 16), n_iter=1, random_state=0).fit(X[:, :16]), tmp_path)
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    a, b = "rbm0.hidden_bias", "rbm1.hidden_bias"
    header[a]["data_offsets"], header[b]["data_offsets"] = header[b]["data_offsets"], header[a]["data_offsets"]
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (size - len(text))
    assert len(text) == size
    (tmp_path / "swapped.dbn").write_bytes(raw[:8] + text + raw[8 + size:])
    with pytest.raises(ModelFileError, match="checksum"):
        db.load(tmp_path / "swapped.dbn")


def test_non_regular_and_oversized_files_are_refused_at_once(data, tmp_path):
    X, _ = data
    raw = _saved(db.RBM(4, n_iter=1, random_state=0).fit(X), tmp_path)
    os.mkfifo(tmp_path / "pipe.dbn")  # reading it would wait for a writer forever
    for path in (tmp_path / "pipe.dbn", "/dev/zero", tmp_path):
        with pytest.raises(ModelFileError, match="not a regular file"):
            db.load(path)
    (tmp_path / "padded.dbn").write_bytes(raw + b"\0" * 1_000_000)  # more bytes than its header declares
    with pytest.raises(ModelFileError, match="truncated or damaged: its header declares"):
        db.load(tmp_path / "padded.dbn")
