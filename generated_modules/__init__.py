"""Python modules generated from rules/ by `lmpredict compile` (see docs/compile.md).

Not committed: `make setup` runs `lmpredict compile`. One module per rule file, mirroring
rules/ (`rules/torch/nn/modules/linear.yaml` -> `generated_modules/torch/nn/modules/linear.py`).
They are plain, importable Python that imports nothing but lm_predictor.codegen.helpers, so
importing them never affects `import torch` or `import transformers`. lmpredict itself loads them
through lm_predictor.codegen.runtime, only when their header says they are fresh.
"""
