import { Type } from '@sinclair/typebox';
import { component } from './component.js';

/** The shapes of the probes /healthz and /readyz: public, so they name no worker, host or device. */
export const Health = Type.Object({ status: Type.Literal('ok') }, { description: 'Up.' });

export const Readiness = Type.Object(
  {
    status: Type.Literal('ready'),
    workers: Type.Object(
      { ready: Type.Integer({ minimum: 0 }), warmingUp: Type.Integer({ minimum: 0 }) },
      { description: 'how many live workers take jobs, and how many still compile their first kernels (GET /v1/admin/workers lists them, for admin keys)' },
    ),
  },
  { [component]: 'Readiness' },
);
