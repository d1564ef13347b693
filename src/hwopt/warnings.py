"""hwopt's warning categories; warnings point at the caller's code."""


class HwoptWarning(UserWarning):
    """Something the user should know about that does not stop the work."""


class PredictorWarning(HwoptWarning):
    """A predictor's measured error exceeds what its stated uncertainty promised."""
