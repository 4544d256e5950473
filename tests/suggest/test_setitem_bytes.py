"""`t[index] = value` (brains/setitem.py): each case measured with BytesCounter on real tensors and
compared with the torch.elementwise term the brain records (read (n_inputs * numel + broadcast_numel)
* dtype_bytes + extra_read, written numel * dtype_bytes); an index it does not model is a bytes gap."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.suggest.test_bytes_constructs456 import _Host, _t  # noqa: E402


def _recorded(t, index, value, view=None) -> tuple:
    """(bytes read, bytes written) of the one term price_setitem records; None: a gap."""
    from lm_predictor.suggest.brains.setitem import price_setitem
    from lm_predictor.suggest.ruletext import call_atoms

    host = _Host()
    price_setitem(host, t, index, value, view)
    if [m for m, _, _ in host.costs if m == "bytes_gap"]:
        return None
    (atom,) = [a for metric, expr, _ in host.costs if metric == "bytes" for a in call_atoms(expr)]
    assert atom.args[1] == "torch.elementwise"
    kw = {"n_inputs": 1, "broadcast_numel": 0, "extra_read": 0, **{k: v.const_value() for k, v in atom.args[2]}}
    return ((kw["n_inputs"] * kw["numel"] + kw["broadcast_numel"]) * kw["dtype_bytes"] + kw["extra_read"],
            kw["numel"] * kw["dtype_bytes"])


def _measured(fn) -> tuple:
    from lm_predictor.verify.bytes_counter import BytesCounter

    with BytesCounter() as counter:
        fn()
    return counter.bytes_read, counter.bytes_written


def test_bool_mask_with_a_scalar_is_one_index_put() -> None:
    # Gemma3Model's `llm_input_ids[special_image_mask] = 0` on int64 [2, 7]: index_put_ reads the ids
    # (112), the mask (14) and the 0-dim value (8), writes the ids (112)
    import torch

    ids, mask = torch.zeros(2, 7, dtype=torch.long), torch.zeros(2, 7, dtype=torch.bool)
    measured = _measured(lambda: ids.__setitem__(mask, 0))
    assert measured == (134, 112)
    from lm_predictor.suggest.expr import Num
    assert _recorded(_t(2, 7, dtype="long"), _t(2, 7, dtype="bool"), Num.const(0)) == measured


def test_bool_mask_with_a_tensor_value_reads_the_value() -> None:
    import torch

    x, mask, v = torch.zeros(2, 5, 4), torch.zeros(2, 5, dtype=torch.bool), torch.zeros(4)
    measured = _measured(lambda: x.__setitem__(mask, v))
    assert measured == (160 + 10 + 16, 160)
    assert _recorded(_t(2, 5, 4), _t(2, 5, dtype="bool"), _t(4)) == measured


def test_slice_with_a_scalar_is_a_fill_of_the_view() -> None:
    # x[:, :3] = 0 on float32 [2, 5, 4]: fill_ reads the 0-dim value (4), writes 2 * 3 * 4 floats (96)
    import torch

    from lm_predictor.suggest.expr import Num
    from lm_predictor.suggest.pyvalues import Slice

    x = torch.zeros(2, 5, 4)
    measured = _measured(lambda: x.__setitem__((slice(None), slice(None, 3)), 0.0))
    assert measured == (4, 96)
    index = (Slice(None, None, None), Slice(None, Num.const(3), None))
    assert _recorded(_t(2, 5, 4), index, Num.const(0), _t(2, 3, 4)) == measured


@pytest.mark.parametrize("shape", [(2, 3, 4), (4,)], ids=["same", "broadcast"])
def test_slice_with_a_tensor_is_a_copy_at_the_view_size(shape) -> None:
    # x[:, :3] = y: copy_ reads y expanded to the view (2 * 3 * 4 floats, 96), writes the view (96)
    import torch

    from lm_predictor.suggest.expr import Num
    from lm_predictor.suggest.pyvalues import Slice

    x, y = torch.zeros(2, 5, 4), torch.ones(*shape)
    measured = _measured(lambda: x.__setitem__((slice(None), slice(None, 3)), y))
    assert measured == (96, 96)
    index = (Slice(None, None, None), Slice(None, Num.const(3), None))
    assert _recorded(_t(2, 5, 4), index, _t(*shape), _t(2, 3, 4)) == measured


def test_a_mixed_index_is_a_gap() -> None:
    from lm_predictor.suggest.expr import Num
    from lm_predictor.suggest.pyvalues import Slice

    assert _recorded(_t(2, 5, 4), (Slice(None, None, None), _t(3, dtype="long")), Num.const(0)) is None
