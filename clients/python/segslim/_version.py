"""The client's version, read by pyproject.toml (``attr = "segslim._version.__version__"``)."""

__version__ = "0.2.0"
