"""`lmpredict eval`: model config + workload -> totals and a per-module breakdown."""
