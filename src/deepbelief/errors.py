"""The library's own exception types."""


class TrainingDivergedError(RuntimeError):
    """Training produced non-finite parameters or monitors; the model keeps its last good parameters."""
