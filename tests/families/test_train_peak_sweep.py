"""Training-step phase peaks at points bench/peak_sweep.py (seed 0) found off the tested grid.

Each case is one drawn point of gpt2, gpt_neox or falcon where the candidates of
`train_forward_peak_bytes` / `train_backward_peak_bytes` were below MemTracker (the comment gives
the point, the phase and how far below the measurement the prediction was before the candidate or
the activation term that now covers it; docs/training.md, "Off the grid"). The four phase peaks
must equal train_oracle's phase tracker exactly, as on the grid (tests/families/test_train_peak.py).
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from lm_predictor.evaluate.train import TrainOptions, predict_train  # noqa: E402
from lm_predictor.verify.train_oracle import measure_train  # noqa: E402
from lm_predictor.workload import Workload  # noqa: E402
from tests.families.test_train import FAMILIES  # noqa: E402

PHASES = ("forward_peak_bytes", "backward_peak_bytes", "optimizer_peak_bytes", "peak_bytes")

SWEEP_CASES = [
    # gpt2 #21, one head: the query's merge of batch and heads is a view, so the attention saves
    # c_attn's whole [tokens, 3 hidden] output (forward and backward were 46,080 low)
    ("gpt2", "layer-scaled-upcast-relu", {"vocab_size": 64, "n_embd": 16, "n_head": 1, "n_inner": 16, "tie_word_embeddings": False}, Workload(8, 15), "sgd"),
    # gpt2 #35: the first block's c_attn backward at its bias gradient (backward 51,932 low)
    ("gpt2", "cross-attention-tanh-gelu", {"vocab_size": 64, "n_layer": 1, "n_embd": 256, "n_head": 8, "n_inner": 1536, "tie_word_embeddings": False}, Workload(3, 11, 0, "bfloat16"), "adamw"),
    # gpt2 #54: the first block's activation backward (357,788 low)
    ("gpt2", "n-inner-untied", {"vocab_size": 64, "n_embd": 256, "n_head": 8, "n_inner": 1024}, Workload(2, 31), "sgd"),
    # gpt2 #73: the first block's c_proj backward (40,404 low)
    ("gpt2", "cross-attention-tanh-gelu", {"vocab_size": 256, "n_embd": 64, "n_head": 4, "n_inner": 512, "tie_word_embeddings": True}, Workload(4, 10), "adamw"),
    # gpt2 #77: the first block's c_fc backward (38,186 low)
    ("gpt2", "cross-attention-tanh-gelu", {"vocab_size": 64, "n_layer": 4, "n_embd": 128, "n_head": 4, "n_inner": 1024, "tie_word_embeddings": False}, Workload(1, 33, 0, "bfloat16"), "adamw"),
    # gpt2 #86: the last block's c_fc backward (38,824 low)
    ("gpt2", "layer-scaled-upcast-relu", {"vocab_size": 1000, "n_layer": 2, "n_positions": 85, "n_embd": 512, "n_head": 8, "n_inner": 512, "tie_word_embeddings": True}, Workload(3, 85), "sgd"),
    # gpt_neox #25, sequential: the forward at the final LayerNorm (its mean and rstd, 4,768 low)
    ("gpt_neox", "sequential-nobias-tied-full-rotary", {"vocab_size": 64, "num_hidden_layers": 4, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 1536, "tie_word_embeddings": False}, Workload(2, 298), "adamw"),
    # gpt_neox #32 and #40: the first layer's query_key_value backward (258,560 and 15,424 low)
    ("gpt_neox", "float-truncated-rotary", {"vocab_size": 256, "num_hidden_layers": 1, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 1536, "tie_word_embeddings": False}, Workload(8, 8), "sgd"),
    ("gpt_neox", "sequential-nobias-tied-full-rotary", {"vocab_size": 64, "num_hidden_layers": 4, "hidden_size": 256, "intermediate_size": 256, "tie_word_embeddings": False}, Workload(4, 4, 0, "bfloat16"), "adamw"),
    # gpt_neox at seed 3 (40 points): the first layer's MLP backward; #1, plain gelu, dense_h_to_4h's bias
    # gradient (183,560 low); #6, gelu_new, its first backward node, and #30, gelu_fast (83,456 and 190,844 low)
    ("gpt_neox", "sequential-nobias-tied-full-rotary", {"vocab_size": 64, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 3072, "tie_word_embeddings": False}, Workload(2, 85, 0, "bfloat16"), "adamw"),
    ("gpt_neox", "odd-rotary-stray-head-dim", {"vocab_size": 256, "hidden_size": 64, "num_attention_heads": 1, "intermediate_size": 512, "head_dim": 64, "tie_word_embeddings": False}, Workload(2, 12), "adamw"),
    ("gpt_neox", "float-truncated-rotary", {"vocab_size": 64, "num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 8, "intermediate_size": 1544, "tie_word_embeddings": True}, Workload(1, 45, 0, "bfloat16"), "adamw"),
    # falcon #8, ALiBi with one head: the query is a view of fused_qkv (976,896 low in both phases)
    ("falcon", "alibi-sequential-mha-bias", {"num_hidden_layers": 4, "hidden_size": 64, "num_attention_heads": 1, "ffn_hidden_size": 264, "tie_word_embeddings": True}, Workload(2, 477, 0, "bfloat16"), "adamw"),
    # falcon #97, ALiBi at one token of the interleaved multi-head layout: the same view (forward 1,024 low)
    ("falcon", "alibi-sequential-mha-bias", {"num_hidden_layers": 1, "hidden_size": 64, "num_attention_heads": 2, "ffn_hidden_size": 184, "tie_word_embeddings": False}, Workload(4, 1, 0, "bfloat16"), "sgd"),
    # falcon #14 and #29, new architecture: the first layer's query_key_value backward (20,608 and 381,728 low)
    ("falcon", "new-arch-gqa-untied", {"vocab_size": 64, "num_hidden_layers": 1, "hidden_size": 512, "ffn_hidden_size": 520}, Workload(4, 4, 0, "bfloat16"), "adamw"),
    ("falcon", "new-arch-one-ln-mqa-bias", {"vocab_size": 256, "num_hidden_layers": 3, "hidden_size": 512, "num_attention_heads": 8, "num_kv_heads": 4, "tie_word_embeddings": True, "ffn_hidden_size": 1032}, Workload(1, 100), "adamw"),
    # falcon #3, multi_query at batch 3: the last layer's merge of the heads (forward 25,920 low) and the
    # product with V's backward at V's gradient (backward 49,248 low)
    ("falcon", "alibi-mqa-legacy-n-embed", {"vocab_size": 64, "num_hidden_layers": 3, "num_attention_heads": 8, "hidden_size": 64, "ffn_hidden_size": 128, "tie_word_embeddings": True}, Workload(3, 27), "sgd"),
    # falcon #69, new architecture: the first layer's _split_heads backward at the key's index_put (84,712 low)
    ("falcon", "new-arch-gqa-untied", {"vocab_size": 256, "num_hidden_layers": 4, "hidden_size": 128, "num_attention_heads": 2, "ffn_hidden_size": 128}, Workload(4, 18, 0, "bfloat16"), "adamw"),
    # falcon #26 of seed 1 (40 points): the first layer's dense_h_to_4h backward (77,192 low)
    ("falcon", "alibi-mqa-legacy-n-embed", {"vocab_size": 256, "num_hidden_layers": 4, "num_attention_heads": 8, "hidden_size": 128, "ffn_hidden_size": 1024, "tie_word_embeddings": False}, Workload(1, 43), "adamw"),
    # falcon #14 of seed 2 (40 points), new architecture: the product with V's backward at V's gradient (89,600 low)
    ("falcon", "new-arch-one-ln-mqa-bias", {"vocab_size": 256, "num_hidden_layers": 1, "hidden_size": 512, "num_attention_heads": 8, "ffn_hidden_size": 1544}, Workload(8, 37, 0, "bfloat16"), "adamw"),
    # falcon #45, multi_query with one head: _split_heads' backward at the key's index_put (697,368 low)
    ("falcon", "alibi-mqa-legacy-n-embed", {"vocab_size": 256, "num_hidden_layers": 3, "num_attention_heads": 1, "hidden_size": 16, "ffn_hidden_size": 40, "tie_word_embeddings": False}, Workload(8, 27), "adamw"),
]


@pytest.mark.parametrize(("family", "name", "overrides", "workload", "optimizer"), SWEEP_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(SWEEP_CASES)])
def test_sweep_point_phase_peaks_exact(family: str, name: str, overrides: dict, workload: Workload, optimizer: str) -> None:
    config = {**FAMILIES[family][name], **overrides}
    p = predict_train(config, batch=workload.batch, seq_len=workload.seq_len, dtype=workload.dtype, options=TrainOptions(optimizer=optimizer)).totals
    m = measure_train(config, workload, optimizer=optimizer).totals
    assert {k: p.get(k) for k in PHASES} == {k: m[k] for k in PHASES}
