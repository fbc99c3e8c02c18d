# syntax=docker/dockerfile:1
# trainyard images. Targets:
#   cpu  API and CPU worker: Node 22 LTS with @tensorflow/tfjs-node (native TensorFlow on the CPU)
#   gpu  GPU worker: CUDA 11.2 / cuDNN 8.1 runtime (what tfjs-node-gpu 4.x is built for) with
#        @tensorflow/tfjs-node-gpu, and the Vulkan loader for the webgpu backend (Dawn), which
#        drives the GPU through the NVIDIA driver's Vulkan ICD (NVIDIA_DRIVER_CAPABILITIES graphics)
# The native packages download libtensorflow while the image is built; without them trainyard
# falls back to its wasm backend, which is what `npm ci` gives on a machine without internet.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY workers workers
# the page's build bundles the seed network as the form's starting point
COPY examples examples
RUN npm run build

FROM ${NODE_IMAGE} AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS cpu
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=production-deps /app/node_modules node_modules
RUN npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node@4.22.0
COPY openapi.yaml ./
COPY examples examples
COPY --from=build /app/dist dist
RUN mkdir -p /data && chown node:node /data
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
USER node
EXPOSE 3000
CMD ["node", "dist/src/server.js"]

FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS gpu
# Node from the official image (its binaries need glibc 2.28; Ubuntu 20.04 has 2.31).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 make g++ libvulkan1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 trainyard
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=production-deps /app/node_modules node_modules
RUN npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0
COPY openapi.yaml ./
COPY examples examples
COPY --from=build /app/dist dist
RUN mkdir -p /data /cuda-cache && chown trainyard:trainyard /data /cuda-cache
# graphics: the container toolkit then mounts the driver's Vulkan ICD, which webgpu needs.
# CUDA_CACHE_*: TensorFlow 2.9 has no sm_90 code, so the driver JIT-compiles its PTX on an H100;
# kept on a volume (compose) that compilation happens once, not at every start.
ENV NODE_ENV=production DATA_DIR=/data TRAINYARD_BACKEND=auto \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    CUDA_CACHE_PATH=/cuda-cache CUDA_CACHE_MAXSIZE=4294967296
USER trainyard
CMD ["node", "dist/workers/worker-process.js"]
