"""Pinned upstream sources (torch, transformers) for `lmpredict vendor`."""

from lm_predictor.vendor.fetch import VendorError, load_lock, record_lock, source_root, vendor

__all__ = ["VendorError", "load_lock", "record_lock", "source_root", "vendor"]
