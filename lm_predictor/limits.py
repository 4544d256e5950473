"""Named resource limits. Every limit has a boundary test in tests/test_limits.py."""

MAX_FORMULA_CHARS = 20_000
"""Longest formula text accepted (characters)."""

MAX_AST_NODES = 5_000
"""Most AST nodes one formula may compile to."""

MAX_NESTING_DEPTH = 200
"""Deepest nesting of operators, calls and conditionals in one formula (parentheses add no level)."""

MAX_CALL_DEPTH = 64
"""Deepest chain of nested rule calls in one evaluation."""

MAX_CALLS = 20_000
"""Most rule invocations (distinct after memoisation) in one evaluation; `eval` shares one budget
across all the metrics of a prediction. Real models make fewer than 100 per metric; at about
20 us per call the limit also bounds the time a hostile rule file can cost (well under 1 s)."""

MAX_INT_BITS = 4_096
"""Largest integer magnitude, in bits, any intermediate value may have."""

MAX_LITERAL_DIGITS = 200
"""Longest integer literal, in digits."""

MAX_RULE_FILE_BYTES = 4 * 1024 * 1024
"""Largest rule file read (bytes); bigger files are refused before reading."""

MAX_YAML_NODES = 50_000
"""Most YAML nodes in one rule file (the largest shipped file has under 2,000; composing a node
costs a few microseconds, so the limit keeps a hostile file well under 1 s)."""

MAX_CONFIG_BYTES = 8 * 1024 * 1024
"""Largest config.json read by eval (bytes)."""

MAX_BATCH = 1 << 20
"""Largest `batch` of a workload (1,048,576 sequences in one forward call)."""

MAX_CONTEXT_TOKENS = 1 << 24
"""Largest `past_len + seq_len` of a workload (16,777,216 tokens; the longest published
contexts are about 10 M). A model's own position limit, where it has one, is checked too."""

MAX_ORACLE_MODULES = 1 << 18
"""Most rows (module and op calls, counted over their repetitions) a predicted model may have for
`verify` to build and run it: the oracle builds every module even under fake tensors, and 10**11
layers would build for days. The bundled configs have at most 5,231 (llama-3-70b; deepseek-r1
1,449, its experts priced as one row per layer)."""

MAX_RESIDUE_PERIOD = 1 << 20
"""residue_count()/residue_first() walk one common period of their moduli: refuse longer ones."""
