"""Checkpoints are read as strictly as model files: a damaged, tampered or foreign checkpoint is a ModelFileError
that names the file, never a silently different training."""
import json
import os

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_bytes

from deepbelief import DBN, DBNClassifier, checkpoint, io
from deepbelief.errors import ModelFileError

SMALL = dict(hidden_layer_sizes=(8, 6), n_iter=2, persistent=True, random_state=0)


@pytest.fixture
def written(tmp_path, digits):
    X, _ = digits
    DBN(checkpoint_dir=tmp_path, **SMALL).fit(X)
    return X, tmp_path / "pretraining.ckpt"


def _resume(X, folder):
    return DBN(checkpoint_dir=folder, **SMALL).fit(X, resume=True)


def _header(data):
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + size]), data[8 + size:]


def _with_header(header, payload):
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + payload


def test_an_intact_checkpoint_resumes_to_the_uninterrupted_fit(written):
    X, path = written
    again = _resume(X, path.parent)
    assert torch.equal(again.rbms_[1].module_.weight, DBN(**SMALL).fit(X).rbms_[1].module_.weight)


def test_one_flipped_bit_in_a_weight_is_refused(written):
    X, path = written
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="cannot resume from .*pretraining.ckpt.*checksum"):
        _resume(X, path.parent)


def test_swapping_two_tensors_of_the_same_shape_is_refused(written):
    X, path = written
    header, payload = _header(path.read_bytes())
    a, b = header["0.weight"], header["0.velocity.0"]
    assert a["shape"] == b["shape"]
    a["data_offsets"], b["data_offsets"] = b["data_offsets"], a["data_offsets"]
    path.write_bytes(_with_header(header, payload))
    with pytest.raises(ModelFileError, match="checksum"):
        checkpoint.read(path)


def test_non_finite_values_are_refused_even_with_a_valid_checksum(written):
    X, path = written
    tensors, state = checkpoint.read(path)
    tensors["1.weight"][0, 0] = float("nan")
    checkpoint.write(path, tensors, state)
    with pytest.raises(ModelFileError, match="'1.weight' holds NaN"):
        _resume(X, path.parent)


@pytest.mark.parametrize("damage", ["no layers", "layer out of range", "layer state not a dict", "tensor missing",
                                    "tensor reshaped"])
def test_a_checksummed_checkpoint_that_does_not_fit_the_model_is_refused(written, damage):
    X, path = written
    tensors, state = checkpoint.read(path)
    if damage == "no layers":
        del state["layers"]
    elif damage == "layer out of range":
        state["layer"] = 7
    elif damage == "layer state not a dict":
        state["layers"][0] = [1, 2]
        state["layer"] = 1
    elif damage == "tensor missing":
        del tensors["0.velocity.1"]
    else:
        tensors["0.chain"] = tensors["0.chain"][:, :3].contiguous()
    checkpoint.write(path, tensors, state)
    with pytest.raises(ModelFileError, match="cannot resume from .*pretraining.ckpt.*(does not fit|expected)"):
        _resume(X, path.parent)


def test_a_damaged_fine_tuning_checkpoint_is_refused(tmp_path, digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(8,), n_iter=1, max_iter=2, activation="sigmoid", checkpoint_dir=tmp_path,
                  random_state=0)
    DBNClassifier(**params).fit(X, y)
    path = tmp_path / "fine_tuning.ckpt"
    tensors, state = checkpoint.read(path)
    state["progress"]["epoch"] = "two"
    checkpoint.write(path, tensors, state)
    with pytest.raises(ModelFileError, match="fine_tuning.ckpt.*epoch"):
        DBNClassifier(**params).fit(X, y, resume=True)


def test_deeply_nested_state_json_is_refused(tmp_path):
    path = tmp_path / "deep.ckpt"
    metadata = {"format": checkpoint.FORMAT, "format_version": str(checkpoint.FORMAT_VERSION),
                "state": "[" * 100_000 + "]" * 100_000}
    tensors = {"w": torch.zeros(2)}
    metadata["sha256"] = io.bound_checksum(save_bytes(tensors, metadata=metadata), metadata)
    path.write_bytes(save_bytes(tensors, metadata=metadata))
    with pytest.raises(ModelFileError, match="corrupted"):
        checkpoint.read(path)


def test_a_checkpoint_of_the_format_without_checksum_names_the_remedy(written):
    _, path = written
    header, payload = _header(path.read_bytes())
    del header["__metadata__"]["format_version"], header["__metadata__"]["sha256"]
    path.write_bytes(_with_header(header, payload))
    with pytest.raises(ModelFileError, match="format 1, this deepbelief resumes format 2"):
        checkpoint.read(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_folders_and_fifos_are_refused_at_once(tmp_path):
    (tmp_path / "folder.ckpt").mkdir()
    os.mkfifo(tmp_path / "fifo.ckpt")  # reading it would block forever
    for name in ("folder.ckpt", "fifo.ckpt"):
        with pytest.raises(ModelFileError, match="not a regular file"):
            checkpoint.read(tmp_path / name)


def test_other_dtypes_and_foreign_files_are_refused(tmp_path):
    path = tmp_path / "x.ckpt"
    path.write_bytes(save_bytes({"w": torch.zeros(2, dtype=torch.float64)}, metadata={"format": checkpoint.FORMAT}))
    with pytest.raises(ModelFileError, match="F64, not F32 or U8"):
        checkpoint.read(path)
    path.write_bytes(save_bytes({"w": torch.zeros(2)}, metadata={"format": "something else"}))
    with pytest.raises(ModelFileError, match="not a deepbelief checkpoint"):
        checkpoint.read(path)
    assert np.isfinite(0.0)
