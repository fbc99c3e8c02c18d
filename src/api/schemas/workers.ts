import { Type } from '@sinclair/typebox';
import { component } from './component.js';

/** The shapes of GET /v1/admin/workers: the live workers in detail, for admin keys only. */

const Adapter = Type.Object(
  { vendor: Type.String(), architecture: Type.String(), description: Type.String() },
  { description: 'the GPU adapter, as its driver names it (webgpu)', [component]: 'Adapter' },
);

/** A worker process as it announces itself (src/queue/worker-presence.ts). */
export const LiveWorker = Type.Object(
  {
    id: Type.String({ description: 'host name and process id' }),
    state: Type.Union([Type.Literal('warming-up'), Type.Literal('ready')], {
      description: "'warming-up' while the backend compiles its first kernels (WebGPU shaders, CUDA PTX); it takes jobs once 'ready'",
    }),
    backend: Type.Object({
      name: Type.String({ description: 'the training backend (TRAINYARD_BACKEND)' }),
      package: Type.String(),
      device: Type.Union([Type.Literal('gpu'), Type.Literal('cpu')]),
      adapter: Type.Optional(Adapter),
    }),
    startedAt: Type.String({ format: 'date-time' }),
  },
  { [component]: 'LiveWorker' },
);

export const WorkerList = Type.Object(
  {
    queue: Type.Object({ waiting: Type.Integer(), active: Type.Integer(), delayed: Type.Integer() }, { description: "the training queue's jobs by state" }),
    workers: Type.Array(LiveWorker, { description: 'the workers that renewed their announcement within three heartbeats (WORKER_HEARTBEAT_MS), by id' }),
  },
  { [component]: 'WorkerList' },
);
