"""`torch.get_default_dtype()` as the analysis sees it: the model dtype in `__init__` (from_config sets
torch's default dtype to the model's while it builds the modules), float32 in a forward (torch's own
default; docs/suggest.md, "Derived bytes": factories without `dtype=`). XGLM's and TrOCR's sinusoidal
tables end in `.to(torch.get_default_dtype())`: built in `__init__`, they are model-dtype buffers."""

from __future__ import annotations

from typing import Any

from lm_predictor.suggest.brains.base import CallSite, brain
from lm_predictor.suggest.brains.base import op
from lm_predictor.suggest.values import External


@brain("default-dtype", op("torch.get_default_dtype"))
def suggest_default_dtype(site: CallSite) -> Any:
    """The dtype torch.get_default_dtype() returns where the call runs."""
    if getattr(site.interp, "in_init", None) is not None:
        return External("torch.<model dtype>")
    return External("torch.float32")
