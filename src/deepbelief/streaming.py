"""Training on rows streamed from a .npy file: the public name of :mod:`deepbelief.data.streaming`."""
from .data.streaming import BLOCK_ROWS, NpyRows, checked_moments, is_streamed, rank_reader, read_rows  # noqa: F401
