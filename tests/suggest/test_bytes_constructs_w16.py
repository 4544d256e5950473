"""Derived bytes of constructs priced in issue 14's sdpa recount (branch w16-sdpa).

- A library rule called at a grandchild's path (fuyu's `self.language_model.get_input_embeddings()(input_ids)`:
  `nn.Embedding` at `language_model.embed_tokens`, called from FuyuModel, whose child PersimmonModel gets
  `inputs_embeds` and never runs it) is written through a path helper, as a derived grandchild already
  was (bart's `self.model.decoder`). Until this branch such a call left the caller without bytes
  ("called through a grandchild path"), so fuyu and got_ocr2 had none.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.families.harness import DECODE, PREFILL, assert_exact
from tests.suggest.families import derived_library

pytest.importorskip("torch")


def test_fuyu_root_rule_has_bytes_through_its_grandchild_embedding() -> None:
    library, root = derived_library("transformers.models.fuyu.FuyuForCausalLM")
    assert {"bytes_read", "bytes_written"} <= set(library.get(root).metrics)
    helper = library.get("transformers.models.fuyu.modeling_fuyu.FuyuModel.path_language_model_to_embed_tokens")
    assert helper is not None and {"bytes_read_via", "bytes_written_via"} <= set(helper.metrics)


# at the default config, as bench/sdpa_survey.py measures it (fake tensors): eval does not read a nested
# text_config's sizes into the derived rules yet (see test_bytes_constructs7.py's gemma3)
@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("workload", [PREFILL, DECODE], ids=["prefill", "decode"])
def test_fuyu_bytes_exact(workload, attn: str, tmp_path) -> None:
    from tests.families.harness import written_config

    library, _ = derived_library("transformers.models.fuyu.FuyuForCausalLM")
    assert_exact(written_config("fuyu", {}, tmp_path), replace(workload, attn=attn), library=library)
