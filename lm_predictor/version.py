"""The package version, in a leaf module: importing it never imports the rest of lm_predictor."""

__version__ = "0.1.0"
