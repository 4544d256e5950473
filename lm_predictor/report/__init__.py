"""Output of predictions: consoles that wrap only on terminals, and sweep tables in four formats."""
