/**
 * Lets timers and I/O run. tfjs work is synchronous and `await tensor.data()` on wasm resolves
 * without reaching the event loop, so long loops call this between steps: otherwise a worker's
 * BullMQ lock renewal and the API's sockets starve.
 */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
