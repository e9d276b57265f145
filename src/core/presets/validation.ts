import { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * Turns zod issues into one AppError('validation_failed') that names the field
 * (`ladder.0.width`) and says what is allowed, so an API client can fix its request
 * without reading our schema. Only the first issue is reported: one clear line beats
 * a list a client has to untangle.
 */

type Issue = z.core.$ZodIssue | z.core.$ZodRawIssue;

const KIND: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  object: 'an object',
  array: 'an array',
  boolean: 'true or false',
};

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function list(values: readonly unknown[]): string {
  return values.map((v) => String(v)).join(', ');
}

/** What is allowed, from the issue's own fields; undefined when zod says nothing useful. */
function describe(iss: Issue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return `is required (${KIND[iss.expected] ?? iss.expected})`;
      if (iss.expected === 'int' && typeof iss.input === 'number') return 'must be a whole number';
      return `must be ${KIND[iss.expected] ?? iss.expected} (got ${kindOf(iss.input)})`;
    case 'too_small': {
      const min = String(iss.minimum);
      if (iss.origin === 'array') return `needs at least ${min} item${min === '1' ? '' : 's'}`;
      if (iss.origin === 'string') return `must be at least ${min} character${min === '1' ? '' : 's'} long`;
      return iss.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = String(iss.maximum);
      if (iss.origin === 'array') return `allows at most ${max} item${max === '1' ? '' : 's'}`;
      if (iss.origin === 'string') return `must be at most ${max} character${max === '1' ? '' : 's'} long`;
      return iss.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value':
      return iss.values.length === 1 ? `must be ${list(iss.values)}` : `must be one of ${list(iss.values)}`;
    case 'invalid_format':
      return iss.pattern !== undefined ? `must match ${iss.pattern}` : `must be a valid ${iss.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${iss.divisor}`;
    case 'invalid_union': {
      // A union of literals (`channels: 1 | 2`) reads best as the list of its values.
      const values = iss.errors.flat().flatMap((e) => (e.code === 'invalid_value' ? e.values : []));
      return values.length > 0 ? `must be one of ${list(values)}` : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * A per-parse error map: it only fills in messages the schema did not write itself,
 * since zod gives schema-level messages precedence over this one.
 */
export const errorMap: z.core.$ZodErrorMap = (iss) => describe(iss);

/** zod's built-in English messages, which say less than describe() can. */
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Unrecognized)\b/;

/** The keys a strict object at `path` inside `schema` allows, for "unknown field" messages. */
export function allowedKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: unknown = schema;
  for (let i = 0; ; i++) {
    for (;;) {
      if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) {
        s = s.unwrap();
      } else if (s instanceof z.ZodPipe) {
        s = s.in;
      } else break;
    }
    if (i === path.length) return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
    const seg = path[i];
    if (s instanceof z.ZodObject && typeof seg === 'string') s = (s.shape as Record<string, unknown>)[seg];
    else if (s instanceof z.ZodArray && typeof seg === 'number') s = s.element;
    else return undefined;
  }
}

/** One issue as an AppError naming its field. `schema` (when given) lists allowed keys. */
export function issueToAppError(iss: z.core.$ZodIssue, schema?: z.ZodType): AppError {
  if (iss.code === 'unrecognized_keys') {
    const key = iss.keys[0] ?? '';
    const field = [...iss.path, key].map(String).join('.');
    const allowed = schema ? allowedKeysAt(schema, iss.path) : undefined;
    const hint = allowed ? `; allowed: ${allowed.join(', ')}` : '';
    return new AppError('validation_failed', `${field}: unknown field${hint}`, { field });
  }
  const field = iss.path.map(String).join('.');
  let rule = ZOD_DEFAULT.test(iss.message) ? (describe(iss) ?? iss.message) : iss.message;
  // Schema messages often start with the field's own name ("width must be even").
  const leaf = iss.path.length > 0 ? String(iss.path[iss.path.length - 1]) : '';
  if (leaf !== '' && rule.startsWith(`${leaf} `)) rule = rule.slice(leaf.length + 1);
  if (field === '') return new AppError('validation_failed', `body: ${rule}`);
  return new AppError('validation_failed', `${field}: ${rule}`, { field });
}

/** The first issue of a ZodError as an AppError (the API's error handler uses this too). */
export function zodToAppError(err: z.core.$ZodError, schema?: z.ZodType): AppError {
  const first = err.issues[0];
  if (!first) return new AppError('validation_failed', 'invalid input');
  const e = issueToAppError(first, schema);
  return new AppError(e.code, e.message, { field: e.field, cause: err });
}

/** Parses untrusted input or throws the AppError for its first issue. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input, { error: errorMap });
  if (!r.success) throw zodToAppError(r.error, schema);
  return r.data;
}
