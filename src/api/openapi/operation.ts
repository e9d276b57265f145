import { z } from 'zod';
import type { JsonSchema } from './json-schema.js';
import { schemaOf } from './schemas.js';

/** Small builders for the path items: each schema in them comes from zod. */

export type Json = Record<string, unknown>;

export const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });
export const parameterRef = (name: string) => ({ $ref: `#/components/parameters/${name}` });

export const jsonContent = (schema: JsonSchema) => ({ 'application/json': { schema } });

/** A JSON response whose body is `schema` (a component: a `$ref`). */
export const jsonResponse = (description: string, schema: z.ZodType): Json => ({
  description,
  content: jsonContent(schemaOf(schema)),
});

/** A text response (an HTML page, a playlist, an SDP error). */
export const textResponse = (description: string, mediaType = 'text/plain'): Json => ({
  description,
  content: { [mediaType]: { schema: schemaOf(z.string()) } },
});

/** A header whose value is a string. */
export const stringHeader = (opts: { description?: string; required?: boolean } = {}): Json => ({
  ...opts,
  schema: schemaOf(z.string()),
});

/** A read-only operation of the API: no request body, no authentication. */
export const getOp = (tag: string, operationId: string, summary: string, responses: Json): Json => ({
  tags: [tag],
  operationId,
  summary,
  responses,
});

/** Mutating calls need API_TOKEN when one is set; `{}` lists the open (loopback) case. */
export const apiAuth = [{ apiToken: [] }, {}];
export const publishAuth = [{ publishToken: [] }, {}];
