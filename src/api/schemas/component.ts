/**
 * The keyword that names a shared schema in the OpenAPI document: src/api/openapi.ts writes each
 * schema carrying it once, under components.schemas, and references it wherever a route uses it.
 * An `x-` keyword because @fastify/swagger keeps those (it drops `$id`) and validators ignore them.
 */
export const component = 'x-component';
