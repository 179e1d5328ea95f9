"""The library's own exception types."""


class TrainingDivergedError(RuntimeError):
    """Training produced non-finite parameters or monitors; the model keeps its last good parameters."""


class ModelFileError(ValueError):
    """A model file cannot be read: missing, truncated, corrupted, of another type or from a newer format."""


class DeviceMemoryError(MemoryError):
    """The device (GPU or CPU) ran out of memory during training or inference; the message names the remedy."""
