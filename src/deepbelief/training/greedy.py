"""Greedy layer-wise pretraining (Hinton, Osindero & Teh 2006): the one stack loop that every stacked model runs.

A *layer* is any object with

- ``n_outputs``: the width of what it passes up;
- ``begin(n_inputs)``: start afresh for inputs of that width (new parameters, generators, trainer);
- ``fit(rows, restore=None, on_epoch=None)``: train on ``rows`` (a :class:`TensorRows` or :class:`StreamedRows`),
  first loading ``restore`` (a state of its own ``state_dict()``) when resuming, calling ``on_epoch()`` after every
  epoch;
- ``up(v)``: what it passes up for input rows ``v`` (probabilities or samples);
- ``state_dict()`` / ``load_state_dict(state)``: everything training changes.

The rows say where the data are: in memory (one tensor, this rank's shard under data parallelism) or streamed
block by block from a file; in both, the rows of layer l are the data passed up through the trained layers below,
so every layer type gets streaming, data parallelism and checkpoints from this one loop. Rows of a sparse matrix
(:class:`SparseRows`) are densified one mini-batch at a time.
"""
import torch


class TensorRows:
    """Training rows held in memory: ``data``, a tensor in model units (this rank's shard under ``group``)."""

    streamed = False
    lazy = False

    def __init__(self, data, group=None):
        self.data, self.group = data, group

    @property
    def width(self):
        return self.data.shape[1]

    def mean(self):
        """The mean row over all ranks (their shards have equal sizes)."""
        mean = self.data.mean(0)
        if self.group is not None:
            self.group.mean_([mean])
        return mean

    def up(self, layer):
        return TensorRows(layer.up(self.data), self.group)

    def take(self, rows):
        return TensorRows(self.data[torch.as_tensor(rows, device=self.data.device)], self.group)

    def append(self, columns):
        return TensorRows(torch.cat([self.data, columns], 1), self.group)


class StreamedRows:
    """Training rows read block by block from ``reader`` (a :class:`deepbelief.data.streaming` reader of this
    rank's shard), each block ``encode``-d into model units and passed up through the trained layers ``below``."""

    streamed = True
    lazy = True  # passed up through the layers below on every read

    def __init__(self, reader, encode, group=None, below=(), width=None):
        self.reader, self.encode, self.group, self.below = reader, encode, group, tuple(below)
        self.width = reader.shape[1] if width is None else width

    def inputs(self, block):
        v = self.encode(block)
        for layer in self.below:
            v = layer.up(v)
        return v

    @torch.no_grad()
    def mean(self):
        """The mean row over all ranks, in one pass over the file."""
        total = sum(self.inputs(block).sum(0) for block in self.reader.blocks())
        if self.group is not None:
            self.group.mean_([total])  # equal shards: the mean of the ranks' sums over n rows each
        return total / self.reader.shape[0]

    def batches(self, batch_size, generator=None):
        """``epoch -> iterable of mini-batches``: the blocks in a random order and the rows of each block in a
        random order (a block-wise shuffle) drawn with ``generator``, or the file's order when it is None."""
        def epoch(_):
            n_blocks = self.reader.n_blocks
            order = range(n_blocks) if generator is None else torch.randperm(n_blocks, generator=generator).tolist()
            for index in order:
                v = self.inputs(self.reader.block(index))
                rows = None if generator is None else torch.randperm(len(v), generator=generator).to(v.device)
                for start in range(0, len(v), batch_size):
                    yield v[start:start + batch_size] if rows is None else v[rows[start:start + batch_size]]

        return epoch

    def up(self, layer):
        return StreamedRows(self.reader, self.encode, self.group, (*self.below, layer), layer.n_outputs)


class SparseRows:
    """Training rows of a sparse matrix (SciPy CSR, this rank's shard), densified mini-batch by mini-batch: ``encode``
    turns a dense NumPy block into model units; ``extra``, a tensor of one row per matrix row, is appended to each
    row (the one-hot labels of a label RBM). Epochs draw the same permutations as for the dense tensor, so the
    batches, and the training, are those of ``TensorRows`` of the dense matrix. Peak memory: one batch (and one
    chunk of ``chunk`` rows when passing rows up or taking their mean; the estimators bound it to 2^22 values,
    ``_validation.chunk_rows``), not the dense matrix."""

    streamed = True
    lazy = False  # passed up once, chunk by chunk

    def __init__(self, matrix, encode, group=None, extra=None, chunk=8192):
        self.matrix, self.encode, self.group, self.extra, self.chunk = matrix, encode, group, extra, chunk
        self.width = matrix.shape[1] + (0 if extra is None else extra.shape[1])

    def __len__(self):
        return self.matrix.shape[0]

    @property
    def shape(self):
        return len(self), self.width

    @property
    def device(self):
        return self.dense(slice(0, 1)).device

    @property
    def dtype(self):
        return self.dense(slice(0, 1)).dtype

    def dense(self, rows):
        """The rows ``rows`` (indices or a slice) as a dense tensor in model units."""
        v = self.encode(self.matrix[rows].toarray())
        if self.extra is not None:
            v = torch.cat([v, self.extra[torch.as_tensor(rows) if not isinstance(rows, slice) else rows]], 1)
        return v

    def chunks(self):
        for start in range(0, len(self), self.chunk):
            yield self.dense(slice(start, start + self.chunk))

    def __getitem__(self, rows):  # a mini-batch by index tensor, as rules that index their rows take it
        return self.dense(rows.cpu().numpy() if torch.is_tensor(rows) else rows)

    @torch.no_grad()
    def mean(self):
        total = None
        for v in self.chunks():
            part = v.sum(0, dtype=torch.float64)
            total, dtype = part if total is None else total + part, v.dtype
        mean = (total / len(self)).to(dtype)
        if self.group is not None:
            self.group.mean_([mean])
        return mean

    def batches(self, batch_size, generator=None):
        """``epoch -> iterable of mini-batches`` in the order a dense tensor's epoch takes: one permutation of all
        rows drawn with ``generator`` (the stored order when it is None)."""
        def epoch(_):
            order = torch.arange(len(self)) if generator is None else torch.randperm(len(self), generator=generator)
            for start in range(0, len(self), batch_size):
                yield self.dense(order[start:start + batch_size].numpy())

        return epoch

    def split(self, n_first, generator):
        """(the first ``n_first`` rows of a random permutation as a dense tensor, SparseRows of the others): the
        validation rows set aside as for a dense tensor."""
        order = torch.randperm(len(self), generator=generator).numpy()
        return self.dense(order[:n_first]), self.take(order[n_first:])

    def take(self, rows):
        return SparseRows(self.matrix[rows], self.encode, self.group,
                          None if self.extra is None else self.extra[rows], self.chunk)

    def append(self, columns):
        extra = columns if self.extra is None else torch.cat([self.extra, columns], 1)
        return SparseRows(self.matrix, self.encode, self.group, extra, self.chunk)

    @torch.no_grad()
    def up(self, layer):
        return TensorRows(torch.cat([layer.up(v) for v in self.chunks()]), self.group)


def greedy_stack(layers, rows, saved=None, save=None):
    """Train ``layers`` bottom to top, each on ``rows`` passed up through the layers below it.

    Parameters
    ----------
    layers : sequence of layers (see the module's docstring)
    rows : TensorRows or StreamedRows, the data in the first layer's units
    saved : None, or ``(index, states)`` to resume: the layers below ``index`` take their finished states
        ``states[i]`` without training, layer ``index`` continues from ``states[index]``
    save : callable(states) or None, called after every epoch with the states so far: each finished layer's as it
        stood before it passed its rows up (so that a resumed stack draws the same samples; for rows passed up on
        the fly, ``rows.lazy``, as it stands now), then the state of the layer in training. ``saved`` takes such a
        list; a layer resuming within its training skips what its saved state replaces.
    """
    start = 0 if saved is None else saved[0]
    finished = []  # (layer, its state before it passed its rows up)
    for index, layer in enumerate(layers):
        layer.begin(rows.width)
        if index < start:
            layer.load_state_dict(saved[1][index])
        else:
            def on_epoch(layer=layer, lazy=rows.lazy):
                # Rows passed up on the fly (streamed) keep drawing from the layers below while this one trains:
                # those layers are saved as they are now; rows passed up once, as they were before.
                below = [done.state_dict() if lazy else state for done, state in finished]
                save([*below, layer.state_dict()])

            layer.fit(rows, restore=saved[1][index] if index == start and saved is not None else None,
                      on_epoch=None if save is None else on_epoch)
        if index + 1 < len(layers):
            finished.append((layer, layer.state_dict()))
            rows = rows.up(layer)
