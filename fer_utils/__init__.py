"""fer_utils: the reusable pieces of the FER reproduction book (data, labels, metrics, models, training)."""
__version__ = "0.1.0"
