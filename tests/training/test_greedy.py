"""The greedy stack (training/greedy.py) with a toy layer type: what each layer is trained on, what a checkpoint
holds, and that a resumed stack ends where an uninterrupted one does."""
import copy

import numpy as np
import pytest
import torch

from deepbelief.data import streaming
from deepbelief.data.streaming import NpyRows
from deepbelief.training import RectifiedLayer, StreamedRows, TensorRows, greedy_stack


class Toy:
    """Learns the mean of its rows over ``epochs`` epochs; passes up v * 2 + draws, where draws counts its calls
    of ``up`` (a stand-in for a sampling generator that propagation advances)."""

    def __init__(self, width, epochs=3, log=None):
        self.n_outputs, self.epochs, self.log = width, epochs, log if log is not None else []

    def begin(self, n_inputs):
        self.n_inputs, self.weight, self.epoch, self.draws = n_inputs, None, 0, 0

    def fit(self, rows, restore=None, on_epoch=None):
        self.log.append(("fit", self.n_inputs, rows.mean().tolist()))
        if restore is not None:
            self.load_state_dict(restore)
        while self.epoch < self.epochs:
            self.epoch += 1
            self.weight = rows.mean()[: self.n_outputs] * self.epoch
            if on_epoch is not None:
                on_epoch()

    def up(self, v):
        self.draws += 1
        return v[:, : self.n_outputs] * 2 + self.draws

    def state_dict(self):
        return {"weight": None if self.weight is None else self.weight.clone(), "epoch": self.epoch,
                "draws": self.draws}

    def load_state_dict(self, state):
        self.weight, self.epoch, self.draws = state["weight"], state["epoch"], state["draws"]


def test_each_layer_trains_on_the_rows_passed_up_through_the_layers_below():
    log = []
    layers = [Toy(3, log=log), Toy(2, log=log)]
    data = torch.arange(12.0).reshape(3, 4)
    greedy_stack(layers, TensorRows(data))
    assert [entry[1] for entry in log] == [4, 3]  # begin(width of the rows)
    np.testing.assert_allclose(log[1][2], (data[:, :3] * 2 + 1).mean(0).tolist())
    assert layers[0].draws == 1 and layers[1].draws == 0  # the top passes nothing up


def test_a_checkpoint_holds_finished_layers_as_they_were_before_they_passed_rows_up():
    saved = []
    layers = [Toy(3), Toy(2)]
    greedy_stack(layers, TensorRows(torch.ones(5, 4)), save=lambda states: saved.append(copy.deepcopy(states)))
    assert [len(states) for states in saved] == [1, 1, 1, 2, 2, 2]
    assert saved[-1][0]["draws"] == 0 and layers[0].draws == 1  # a resumed stack must draw the same samples
    assert [states[-1]["epoch"] for states in saved] == [1, 2, 3, 1, 2, 3]


@pytest.mark.parametrize("stop", range(6))
def test_a_resumed_stack_ends_where_an_uninterrupted_one_does(stop):
    data = torch.rand(6, 4, generator=torch.Generator().manual_seed(0))
    whole = [Toy(3), Toy(2)]
    saved = []
    greedy_stack(whole, TensorRows(data), save=lambda states: saved.append(copy.deepcopy(states)))
    states = saved[stop]
    resumed, log = [Toy(3), Toy(2)], []
    resumed[1].log = log
    greedy_stack(resumed, TensorRows(data), saved=(len(states) - 1, states))
    for a, b in zip(resumed, whole):
        torch.testing.assert_close(a.weight, b.weight, rtol=0, atol=0)
        assert (a.epoch, a.draws) == (b.epoch, b.draws)
    np.testing.assert_allclose(log[0][2], whole[1].log[0][2])  # the same rows for the layer above


def test_streamed_rows_are_the_rows_in_memory_block_by_block(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_ROWS", 16)
    X = np.random.default_rng(0).random((70, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    reader = NpyRows(tmp_path / "x.npy")
    assert reader.n_blocks == 5
    streamed, memory = StreamedRows(reader, torch.as_tensor), TensorRows(torch.as_tensor(X))
    torch.testing.assert_close(streamed.mean(), memory.mean())
    in_order = torch.cat(list(streamed.batches(8)(0)))
    torch.testing.assert_close(in_order, memory.data, rtol=0, atol=0)
    shuffled = torch.cat(list(streamed.batches(8, torch.Generator().manual_seed(1))(0)))
    assert not torch.equal(shuffled, memory.data)  # every row once, in another order
    torch.testing.assert_close(shuffled[shuffled[:, 0].argsort()], memory.data[memory.data[:, 0].argsort()])
    layer = Toy(3)
    layer.begin(5)
    up = streamed.up(layer)
    assert up.width == 3
    assert torch.cat(list(up.batches(100)(0))).shape == (70, 3)


def test_the_rectified_layer_passes_up_its_rectified_features():
    V = torch.rand(40, 6, generator=torch.Generator().manual_seed(0))
    layer = RectifiedLayer(4, "auto", 2, 1, 10, torch.Generator().manual_seed(0))
    record = []
    greedy_stack([layer, Toy(2, epochs=1, log=record)], TensorRows(V))
    torch.testing.assert_close(torch.tensor(record[0][2]),
                               torch.relu(V @ layer.weight.T + layer.hidden_bias).mean(0))
    with pytest.raises(ValueError, match="in memory"):
        layer.fit(type("Streamed", (), {"streamed": True})())
