import { Type } from '@sinclair/typebox';
import { component } from './component.js';

/** The shapes of the probes /healthz and /readyz. */
export const Health = Type.Object({ status: Type.Literal('ok') }, { description: 'Up.' });

export const Readiness = Type.Object(
  {
    status: Type.Literal('ready'),
    redis: Type.String(),
    queue: Type.Object({ waiting: Type.Integer(), active: Type.Integer(), delayed: Type.Integer() }),
    workers: Type.Integer({ description: 'live workers' }),
  },
  { [component]: 'Readiness' },
);
