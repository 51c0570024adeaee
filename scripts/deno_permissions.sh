# The permissions of the program, in one place: the compiled binary is built with them
# (scripts/compile.sh) and ./parakeet-server's `deno run` uses them, so both behave alike.
# Why each: read (models, audio, ORT), write (model cache, fetch-model), net (serve, fetch),
# env (knobs), ffi (ONNX Runtime), run (ffmpeg, for non-WAV audio), sys (core count for threads).
# No --allow-all: nothing else (no imports from the network, no hrtime).
# shellcheck shell=bash disable=SC2034
DENO_PERMS=(--allow-read --allow-write --allow-net --allow-env --allow-ffi --allow-run --allow-sys)
