import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Starts a worker thread running the module `name` next to `base` (the caller's import.meta.url),
 * with `workerData`. Under tsx (tests, `npm start`) that module is TypeScript, which a worker
 * thread can only load after registering tsx's loader in it; the built service runs the compiled
 * .js directly.
 */
export function startModuleThread(base: string, name: string, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const source = base.endsWith('.ts');
  const entry = new URL(`./${name}${source ? '.ts' : '.js'}`, base);
  const options = { workerData, ...(resourceLimits ? { resourceLimits } : {}) };
  if (!source) return new Worker(entry, options);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
