import { z } from 'zod';

/**
 * zod schemas as JSON Schema 2020-12, the dialect OpenAPI 3.1 uses, through zod 4's own
 * converter (z.toJSONSchema). Nothing here knows a whipcast type: schemas.ts says which
 * schemas become components and under which names.
 */

export type JsonSchema = Record<string, unknown>;

/** A schema published under `#/components/schemas/{id}`. */
export interface Component {
  id: string;
  schema: z.ZodType;
  /** For a schema shared by two components (a preset as sent and as stored). */
  description?: string;
}

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/** Applied to every node zod emits. */
const tidy: NonNullable<z.core.ToJSONSchemaParams['override']> = ({ jsonSchema }) => {
  // zod writes its own RFC 3339 regex beside `format: date-time`; the format says it.
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
  // z.int() is bounded to safe integers; a bound nobody chose is noise in the document.
  for (const k of ['minimum', 'maximum'] as const) {
    const v = jsonSchema[k];
    if (jsonSchema.type === 'integer' && typeof v === 'number' && SAFE_INTEGER_BOUNDS.has(v)) {
      delete jsonSchema[k];
    }
  }
};

function options(io: 'input' | 'output'): z.core.ToJSONSchemaParams {
  // `unrepresentable: 'any'`: refinements (superRefine) have no JSON Schema form; the
  // fields they refine keep their own types and limits.
  return { target: 'draft-2020-12', io, unrepresentable: 'any', override: tidy };
}

/** One schema, inline (schemas registered as components are not referenced, but copied). */
export function inlineSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, options(io)) as JsonSchema;
  return rest;
}

/**
 * Components for `components.schemas`, by id. A component nested in another becomes
 * `{"$ref": "#/components/schemas/{id}"}` there (zod's registry conversion).
 */
export function componentSchemas(
  components: readonly Component[],
  io: 'input' | 'output',
): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const c of components) registry.add(c.schema, { id: c.id });
  const { schemas } = z.toJSONSchema(registry, {
    ...options(io),
    uri: (id) => `#/components/schemas/${id}`,
  });
  if ('__shared' in schemas) {
    // zod puts a schema used twice but not registered there only under `cycles: 'ref'`
    // or `reused: 'ref'`; neither is used, so this means a recursive schema.
    throw new Error('a response or request schema is recursive: make the recursive part a component');
  }
  const out: Record<string, JsonSchema> = {};
  for (const c of components) {
    // A component is not a document of its own: no dialect, and no `$id`, whose
    // fragment-only URI (`#/components/...`) 2020-12 does not allow there.
    const { $schema: _dialect, $id: _id, ...rest } = schemas[c.id] as JsonSchema;
    out[c.id] = c.description === undefined ? rest : { ...rest, description: c.description };
  }
  return out;
}
