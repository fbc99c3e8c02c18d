let count = 0;

/**
 * A default layer name. tfjs derives one from the class name, and ours are namespaced
 * ("trainyard>Elu"), which is not a valid tensor name.
 */
export function defaultLayerName(prefix: string): string {
  count += 1;
  return `${prefix}_${count}`;
}
