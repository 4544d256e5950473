"""The generated-modules backend: `lmpredict compile`, its safety checks, freshness and runtime.

naming     rule names -> collision-free Python identifiers (`library__path__Module`)
emitter    rule ASTs -> Python source of one module (AST only; no rule text in the output)
emit_base  what the two emitters share: module state, temporaries, outlining, node dispatch
frame_emitter / fast_emitter   the engine-protocol and the fast-path function of a (rule, metric)
analysis   callee interfaces, static call graph, result types and bit bounds (fast-path facts)
literals   validated literals and the line writer
safety     re-parse a generated file with `ast`; whitelist of node types, names, constants
header     the header of a generated file (source / deps / body hashes, compiler version)
writer     atomic writes; never overwrites a hand-edited file without --force
build      which files `compile` generates, in memory
freshness  `lint --check-generated`
runtime    load fresh modules, link them, evaluate (fast totals, engine Runner)
helpers    the only names generated code imports
sweep      vectorised totals over many workloads (numpy)
"""
