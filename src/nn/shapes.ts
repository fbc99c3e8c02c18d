/**
 * Shapes shared by the engine and the datasets it reads, in a module of their own so that
 * `src/data` can name them without importing the network definitions (and `src/nn` never imports
 * `src/data`: the engine reads data only through the port in dataset-source.ts).
 */

/** Height, width, channels of one observation. */
export type Size3 = [number, number, number];
