import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Validates response bodies against the schemas an OpenAPI 3.1 document declares for
 * them, with ajv's JSON Schema 2020-12 (the dialect OpenAPI 3.1 uses). The whole
 * document is added to ajv under an $id, and each response schema is compiled by its
 * JSON pointer in it, so `$ref`s to components resolve as any reader of the document
 * would resolve them.
 */

type Obj = Record<string, unknown>;

/** Where the document lives for ajv; never fetched. */
const DOC_ID = 'https://whipcast.invalid/openapi.json';

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** One JSON pointer segment (RFC 6901), percent-encoded for a URI fragment (ajv decodes both). */
const segment = (s: string) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'));

function at(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const raw of pointer.replace(/^#\//, '').split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObj(node) ? node[key] : undefined;
  }
  return node;
}

export class OpenApiValidator {
  readonly #doc: Obj;
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(doc: unknown) {
    if (!isObj(doc)) throw new TypeError('the document is not an object');
    this.#doc = doc;
    // strict: an unknown keyword or format in a schema is an error, not a silent pass.
    // allowUnionTypes: zod writes a nullable string as `type: ["string", "null"]`.
    this.#ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats.default(this.#ajv);
    // ajv compiles the document's root to resolve pointers into it. OpenAPI's own
    // top-level fields (openapi, info, paths, components, ...) are no schema keywords:
    // declared as keywords without validation, strict mode accepts them and ignores
    // what is under them, and the schemas there are compiled by their pointers.
    for (const field of Object.keys(doc)) this.#ajv.addKeyword({ keyword: field });
    this.#ajv.addSchema({ ...doc, $id: DOC_ID });
  }

  /**
   * The pointer of the JSON schema the document declares for `status` of `method path`
   * (a path template, `/api/jobs/{id}`), through a `$ref`ed response. Throws when the
   * document does not declare that status, or declares it without a JSON body.
   */
  responseSchemaPointer(path: string, method: string, status: number): string {
    const op = `${method.toUpperCase()} ${path}`;
    let pointer = `#/paths/${segment(path)}/${method.toLowerCase()}/responses/${status}`;
    let response = at(this.#doc, decodeURIComponent(pointer));
    if (isObj(response) && typeof response.$ref === 'string') {
      pointer = response.$ref;
      response = at(this.#doc, pointer);
    }
    if (!isObj(response)) throw new Error(`${op} answered ${status}, which the document does not declare`);
    const content = response.content;
    if (!isObj(content) || !isObj(content['application/json'])) {
      throw new Error(`${op} ${status}: the document declares no application/json body`);
    }
    return `${pointer}/content/${segment('application/json')}/schema`;
  }

  /** Errors of `body` against the schema at `pointer` (`#/...`); empty when it is valid. */
  validate(pointer: string, body: unknown): string[] {
    let check = this.#compiled.get(pointer);
    if (!check) {
      check = this.#ajv.compile({ $ref: `${DOC_ID}${pointer}` });
      this.#compiled.set(pointer, check);
    }
    return check(body) ? [] : (check.errors ?? []).map(describe);
  }

  /** Errors of the body answered to `method path` with `status`; empty when it is what the document says. */
  validateResponse(path: string, method: string, status: number, body: unknown): string[] {
    return this.validate(this.responseSchemaPointer(path, method, status), body);
  }

  /** Errors of `body` against `#/components/schemas/{name}`. */
  validateComponent(name: string, body: unknown): string[] {
    return this.validate(`#/components/schemas/${segment(name)}`, body);
  }
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(body)' : e.instancePath;
  const extra = e.keyword === 'additionalProperties' ? ` (${JSON.stringify(e.params)})` : '';
  return `${where} ${e.message ?? e.keyword}${extra} [${e.schemaPath}]`;
}
