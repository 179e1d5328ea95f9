"""The library's own exception types."""


class TrainingDivergedError(RuntimeError):
    """Training produced non-finite parameters or monitors; the model keeps its last good parameters."""


class ModelFileError(ValueError):
    """A model file cannot be read: missing, truncated, corrupted, of another type or from a newer format."""
