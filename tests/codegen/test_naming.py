"""Generated identifiers: the library__path__Module scheme, shortening, no collisions, stability."""

from __future__ import annotations

import json
import keyword
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_predictor.codegen import naming
from lm_predictor.resources import repo_root, rules_dir
from lm_predictor.rules.library import load_library

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z", re.ASCII)


def library_names() -> list[str]:
    return sorted(rule.name for rule in load_library([rules_dir()]))


def suggested_names() -> list[str]:
    """What `suggest` drafts for each of the 132 causal-LM classes of transformers 4.56.0.

    A causal LM `transformers.models.m.modeling_m.XForCausalLM` gets rules for its model,
    decoder layer, attention, MLP, norm and rotary classes and the module-level helpers.
    """
    table = json.loads((repo_root() / "lm_predictor" / "data" / "transformers_configs.json").read_text())
    causal = sorted({v["causal_lm"] for v in table["model_types"].values() if v.get("causal_lm")})
    assert len(causal) >= 129  # 132 model types, some sharing a class
    names = set()
    for path in causal:
        module, cls = path.rsplit(".", 1)
        stem = cls[: -len("ForCausalLM")] if cls.endswith("ForCausalLM") else cls
        for suffix in ("ForCausalLM", "Model", "PreTrainedModel", "DecoderLayer", "Attention", "SdpaAttention", "MLP", "RMSNorm", "LayerNorm", "RotaryEmbedding", "Block"):
            names.add(f"{module}.{stem}{suffix}")
        for fn in ("eager_attention_forward", "apply_rotary_pos_emb", "rotate_half", "repeat_kv", "create_causal_mask"):
            names.add(f"{module}.{fn}")
    return sorted(names)


def check_valid(assigned: dict[str, str]) -> None:
    values = list(assigned.values())
    assert len(set(values)) == len(values), "two rules share an identifier"
    for ident in values:
        assert IDENT.match(ident) and not keyword.iskeyword(ident) and "___" not in ident and not ident.startswith("_")


def test_documented_examples():
    assigned = naming.assign_identifiers(
        ["torch.nn.modules.linear.Linear", "transformers.models.llama.modeling_llama.LlamaAttention", "torch.matmul"]
    )
    assert assigned["torch.nn.modules.linear.Linear"] == "torch__nn__modules__linear__Linear"
    assert assigned["transformers.models.llama.modeling_llama.LlamaAttention"] == "transformers__modeling_llama__LlamaAttention"
    assert assigned["torch.matmul"] == "torch__matmul"


def test_every_library_and_suggested_name_is_unique():
    names = sorted(set(library_names()) | set(suggested_names()))
    assert len(names) > 1000
    assigned = naming.assign_identifiers(names)
    check_valid(assigned)
    long = [n for n in names if n.startswith("transformers.models.") and len("__".join(n.split("."))) > naming.MAX_FULL_LENGTH]
    simple = [n for n in long if naming.full_form(n.split(".")) is not None]
    shortened = [n for n in simple if len(assigned[n]) < len("__".join(n.split(".")))]
    assert simple and len(shortened) == len(simple)  # every long simple transformers name gets a short form
    for n in long:  # private names (`..._upcast_and_reordered_attn`) get the escaped form
        if n not in simple:
            assert assigned[n] == naming.escaped_form(n.split("."))


def test_adding_the_suggested_rules_changes_no_library_identifier():
    library = library_names()
    before = naming.assign_identifiers(library)
    after = naming.assign_identifiers(library + suggested_names())
    assert {n: after[n] for n in library} == before


def test_short_forms_that_collide_fall_back_for_both_sides():
    a = "transformers.models.alpha.modeling_shared.SharedBlock"
    b = "transformers.models.beta.modeling_shared.SharedBlock"
    alone = naming.assign_identifiers([a])
    assert alone[a] == "transformers__modeling_shared__SharedBlock"
    both = naming.assign_identifiers([a, b])
    assert both[a] == "transformers__alpha__modeling_shared__SharedBlock"
    assert both[b] == "transformers__beta__modeling_shared__SharedBlock"
    # a name whose full form equals another's short form: neither takes it
    c = "transformers.modeling_shared.SharedBlock"
    three = naming.assign_identifiers([a, c])
    check_valid(three)
    assert "transformers__modeling_shared__SharedBlock" not in three.values()


def test_names_that_are_not_simple_get_the_injective_escaped_form():
    names = ["a_.b", "a._b", "a__b.c", "a.b__c", "a.b.c", "a_b.c", "x.y_", "x_.y"]
    assigned = naming.assign_identifiers(names)
    check_valid(assigned)
    assert assigned["a.b.c"] == "a__b__c"
    assert assigned["a_.b"].endswith("_") and assigned["a._b"].endswith("_")


def decode_escaped(ident: str) -> str:
    body = ident[2:-1]
    parts, current, i = [], "", 0
    while i < len(body):
        if body[i] == "_":
            if body[i + 1] == "0":
                parts.append(current)
                current = ""
            else:
                current += "_"
            i += 2
        else:
            current += body[i]
            i += 1
    return ".".join([*parts, current])


part = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(lambda p: not p.startswith("__") and not keyword.iskeyword(p))
dotted = st.lists(part, min_size=1, max_size=6).map(".".join)


@settings(max_examples=200, deadline=None)
@given(dotted)
def test_escaped_form_round_trips(name):
    ident = naming.escaped_form(name.split("."))
    assert IDENT.match(ident) and ident.endswith("_")
    assert decode_escaped(ident) == name


@settings(max_examples=25, deadline=None)
@given(st.lists(dotted, min_size=50, max_size=300, unique=True), st.lists(dotted, min_size=1, max_size=20, unique=True))
def test_synthetic_sets_never_collide_and_unrelated_additions_are_stable(base, extra):
    assigned = naming.assign_identifiers(base)
    check_valid(assigned)
    extra = [x for x in extra if x not in assigned]
    grown = naming.assign_identifiers(base + extra)
    check_valid(grown)
    taken = {c for x in extra for c in naming.candidates(x)}
    for name, ident in assigned.items():
        cands = naming.candidates(name)
        upto = cands[: cands.index(ident) + 1]
        if not taken.intersection(upto):  # unrelated to every added name
            assert grown[name] == ident


def test_hundreds_of_transformers_like_names():
    rng = random.Random(5)
    names = set()
    for i in range(600):
        model = rng.choice(["llama", "mistral", "qwen2", "gpt2", "falcon", "phi3", "gemma", f"m{i % 37}"])
        module = rng.choice([f"modeling_{model}", f"modular_{model}", "modeling_shared"])
        cls = rng.choice(["Attention", "MLP", "DecoderLayer", "Model", "RMSNorm"]) + str(rng.randrange(5))
        names.add(f"transformers.models.{model}.{module}.{cls}")
    assigned = naming.assign_identifiers(names)
    check_valid(assigned)


@pytest.mark.parametrize(
    "name",
    ["a.'b", 'x"); __import__("os").system("id"); ("', "a\nb", "torch.nn.\u041b", "\uff54orch.nn.Linear", "a..b", "__import__", "a.__class__", "", "a.b.", "1a.b", "class.x"],
)
def test_hostile_names_are_refused(name):
    with pytest.raises(naming.NamingError):
        naming.assign_identifiers([name])


def test_module_paths_are_plain_or_hashed():
    assert naming.module_parts("torch/nn/modules/linear.yaml") == ["torch", "nn", "modules", "linear"]
    weird = naming.module_parts("my-rules/Bad Name'; import os.yaml")
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", p) for p in weird)
    assert weird[0].startswith("m_") and weird[1].startswith("m_")
    assert naming.module_parts("class/x.yaml")[0].startswith("m_")  # keyword
