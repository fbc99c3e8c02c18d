/**
 * Which form field a server problem belongs to. Problems name JSON paths from the request's root
 * ("network.layers[3].numChannels", "options.maxEpochs"; Fastify's schema checks prefix "body.");
 * each goes to the field with the longest path that contains it, or to none (the form's summary).
 */
export function fieldFor(problemPath: string, fieldPaths: readonly string[]): string | null {
  const path = problemPath.replace(/^body(\.|$)/, '');
  let best: string | null = null;
  for (const field of fieldPaths) {
    const contains = path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);
    if (contains && (best === null || field.length > best.length)) best = field;
  }
  return best;
}
