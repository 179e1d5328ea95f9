"""The library's own exception types."""


class TrainingDivergedError(RuntimeError):
    """Training produced non-finite parameters or monitors; the model keeps its last good parameters."""


class ModelFileError(ValueError):
    """A model file cannot be read: missing, truncated, corrupted, of another type or from a newer format."""


class OutOfRangeWarning(UserWarning):
    """Rows given to a fitted model held values its visible units cannot take (outside [0, 1] for Bernoulli units,
    below 0 for rectified ones, as a MinMaxScaler's held-out rows do); they were clipped to the units' range."""


class DeviceMemoryError(MemoryError):
    """The device (GPU or CPU) ran out of memory during training or inference; the message names the remedy."""
