"""Latency on real hardware: roofline per module, low-precision storage, whole generations."""
