#!/bin/sh
# The seed run on a GPU machine: trainyard on WebGPU (Dawn on the NVIDIA driver's Vulkan ICD) and
# shared/reference/torch_seed.py on CUDA, back to back, both results written to one file.
#   bench/gpu/run.sh [--epochs N] [--out FILE]
# Needs .gpu-bundle/ (made by bench/gpu/pack.sh) in this working copy; no internet, no Node.js:
# the bundle carries Node, Dawn, the trainer and the data. PyTorch with CUDA must be installed.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
bundle="$root/.gpu-bundle"
epochs=30
out="$root/bench/gpu/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--epochs N] [--out FILE]" >&2; exit 2 ;;
  esac
done
[ -d "$bundle" ] || { echo "no $bundle: run bench/gpu/pack.sh on a machine with npm first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/trainyard-gpu.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xJf "$bundle/trainer.tar.xz"
xz -dc "$bundle/node.xz" > "$work/node" && chmod +x "$work/node"
node="$work/node"
trainer="$work/trainer"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work}"

# The Vulkan loader: the machine's, else the bundled Debian package's (unpacked without dpkg).
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  mkdir -p "$work/vulkan" && (cd "$work/vulkan" && ar x "$bundle/libvulkan1.deb" && tar -xf data.tar.*)
  export LD_LIBRARY_PATH="$work/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# The NVIDIA ICD: containers often carry the driver's libGLX_nvidia but not its nvidia_icd.json.
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  glx=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0 / { print $NF; exit }')
  if [ -n "$glx" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" > "$work/nvidia_icd.json"
    export VK_ICD_FILENAMES="$work/nvidia_icd.json" VK_DRIVER_FILES="$work/nvidia_icd.json"
  fi
fi

echo "== GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found"
echo "== Vulkan adapter Dawn finds"
adapter=$("$node" "$trainer/bench/gpu/adapter.mjs" 2>/dev/null | tail -1)
echo "$adapter"

python=$(command -v python3 || command -v python)
data=$("$node" "$trainer/bench/gpu/write-data.mjs" "$work/data")
mkdir -p "$(dirname "$out")"
: > "$out"
echo "== trainyard on webgpu, seed run ($epochs epochs)"
TRAINYARD_BACKEND=webgpu "$node" "$trainer/bench/seed-run.mjs" --epochs "$epochs" 2>"$work/webgpu.err" | tail -1 | tee -a "$out" \
  || { echo "the webgpu run failed:"; tail -20 "$work/webgpu.err"; }
echo "== PyTorch on CUDA, seed run ($epochs epochs)"
# shellcheck disable=SC2086 # $data is the torch_seed.py file arguments, space-separated paths without spaces
"$python" "$trainer/torch_seed.py" --device cuda --epochs "$epochs" $data | tail -1 | tee -a "$out"
printf '{"date":"%s","gpu":"%s","adapter":%s}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)" "${adapter:-null}" >> "$out"
echo "== results: $out"
