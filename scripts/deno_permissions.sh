# The permissions of the program and its V8 flags, in one place: the compiled binary is built with them
# (scripts/compile.sh) and ./parakeet-server's `deno run` uses them, so both behave alike.
# Why each: read (models, audio, ORT), write (model cache, fetch-model), net (serve, fetch),
# env (knobs), ffi (ONNX Runtime), run (ffmpeg, for non-WAV audio), sys (core count for threads).
# No --allow-all: nothing else (no imports from the network, no hrtime).
# shellcheck shell=bash disable=SC2034
DENO_PERMS=(--allow-read --allow-write --allow-net --allow-env --allow-ffi --allow-run --allow-sys)
# V8's young generation is capped at 8 MiB per semi-space (16 MiB in all; V8's default lets it grow
# to 64 MiB). Left alone, after about 20 minutes of steady traffic it grew once to its largest
# size and stayed there, never giving the memory back: a one-time RSS step of 40-70 MiB seen in
# 60-minute soaks (new_space went from 3-20 MiB to 26-52 MiB, old_space stayed at 5). The live
# heap is a few MiB, so the smaller young generation costs nothing measurable. Kept in step with
# SERVE_V8_FLAGS in src/bench/server_process.ts and the `start` task in deno.json.
DENO_V8=(--v8-flags=--max-semi-space-size=8)
