#!/bin/sh
# Builds trainyard-kernels.wasm from c/*.c (npm run build:wasm), or the file named by $1, and
# records the compiler in trainyard-kernels.toolchain. Needs clang, wasm-ld and wasm-objdump
# (Debian: apt-get install -y clang lld wabt); the binary is committed, so nothing else needs them.
# The kernels run on tfjs-backend-wasm's memory (imported, never grown or written on their own):
# the checks below refuse a binary with static data or a shadow stack, which would land on
# tfjs's heap.
# -fno-vectorize -fno-slp-vectorize: the kernels are vectorised by hand; clang's own vectorisation
# of their scalar tail loops produced code that Node 20's V8 (11.3) computed wrongly once it
# optimised it (right in the baseline tier, wrong sums after tier-up; test/helpers/wasm-tier.ts).
set -eu
out=$(realpath "${1:-$(dirname "$0")/trainyard-kernels.wasm}")
cd "$(dirname "$0")"
clang --target=wasm32 -msimd128 -O3 -fno-vectorize -fno-slp-vectorize -nostdlib -ffreestanding -fno-builtin \
  -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all -Wl,-z,stack-size=0 \
  -o "$out.tmp" c/*.c
if wasm-objdump -h "$out.tmp" | grep -q ' Data '; then
  echo "build-wasm: $out has a data section; kernels must not use static data" >&2
  exit 1
fi
if wasm-objdump -d "$out.tmp" | grep -q 'global\.[gs]et'; then
  echo "build-wasm: $out uses a global (the shadow stack pointer); kernels must not use the stack" >&2
  exit 1
fi
mv "$out.tmp" "$out"
[ $# -eq 0 ] && clang --version | head -n 1 > trainyard-kernels.toolchain
echo "built $out ($(wc -c < "$out") bytes) with $(clang --version | head -n 1)"
