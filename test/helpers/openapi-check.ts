import { METHODS } from 'node:http';

/**
 * Holds the OpenAPI document to the routes an express app really registers, and
 * checks the document's own structure. Used by the tests; nothing here runs in a
 * request.
 *
 * How the routes are found: express 5 (router 2.x) no longer keeps a mounted
 * router's prefix as a readable regexp, but every layer keeps the path it was
 * registered with as `layer.rawPath` (router >= 2.2; `router.listRoutes()` in 2.3
 * reads the same field). So: walk `app.router.stack`; a layer with `route` is an
 * endpoint (`route.methods`), a layer whose `handle` has a `stack` is a mounted
 * router to walk with `rawPath` as prefix. Plain middleware (express.static,
 * jsonBody) is not a route and is not listed.
 */

export interface RouteInfo {
  /** Upper case; `ALL` for `.all()` handlers. */
  method: string;
  /** In express syntax, prefixes included: `/api/presets/:id`. */
  path: string;
}

interface LayerLike {
  rawPath?: unknown;
  route?: { methods?: Record<string, unknown> };
  handle?: unknown;
}

interface RouterLike {
  stack: LayerLike[];
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function isRouter(x: unknown): x is RouterLike {
  return (
    (typeof x === 'function' || typeof x === 'object') && x !== null && Array.isArray((x as RouterLike).stack)
  );
}

function joinPath(prefix: string, p: string): string {
  const joined = `${prefix}/${p}`.replace(/\/{2,}/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/**
 * Every route of an express 5 app (or router), mount prefixes included. Throws
 * when the router keeps no `rawPath` (an express/router older than this code knows).
 */
export function listExpressRoutes(appOrRouter: unknown): RouteInfo[] {
  const root = isRouter(appOrRouter) ? appOrRouter : (appOrRouter as { router?: unknown } | null)?.router;
  if (!isRouter(root)) throw new TypeError('not an express 5 app or router');
  const out: RouteInfo[] = [];
  const walk = (router: RouterLike, prefix: string): void => {
    for (const layer of router.stack) {
      const route = layer.route;
      const mounted = !route && isRouter(layer.handle) ? layer.handle : undefined;
      if (!route && !mounted) continue;
      if (!('rawPath' in layer)) {
        throw new Error('this express router does not keep rawPath on its layers (router >= 2.2 does)');
      }
      const raws = Array.isArray(layer.rawPath)
        ? (layer.rawPath as unknown[]).flat(Infinity)
        : [layer.rawPath];
      for (const raw of raws) {
        // A RegExp path stays visible as such, so the check can report it as undocumentable.
        const p = joinPath(prefix, typeof raw === 'string' ? raw : String(raw));
        if (mounted) {
          walk(mounted, p);
          continue;
        }
        const methods = Object.keys(route?.methods ?? {});
        // Router#all marks `_all`; express's app.all() registers every method one by one.
        if (methods.includes('_all') || METHODS.every((m) => methods.includes(m.toLowerCase()))) {
          out.push({ method: 'ALL', path: p });
          continue;
        }
        for (const m of methods) out.push({ method: m.toUpperCase(), path: p });
      }
    }
  };
  walk(root, '');
  return out;
}

/**
 * `/api/presets/:id` → `/api/presets/{id}`; `*name` (express 5 wildcard) → `{name}`.
 * Null for what an OpenAPI path template cannot say: optional groups, regexps.
 */
export function toOpenApiPath(expressPath: string): string | null {
  if (!/^[A-Za-z0-9_.~/:*@-]*$/.test(expressPath)) return null;
  return expressPath.replace(/[:*]([A-Za-z_$][\w$]*)/g, '{$1}');
}

/** The same path with every parameter name blanked: `/hls/{}/{}`. */
const shape = (p: string) => p.replace(/\{[^}]*\}/g, '{}');

function documentOperations(doc: unknown): Map<string, Set<string>> {
  const ops = new Map<string, Set<string>>();
  const paths = (doc as { paths?: unknown } | null)?.paths;
  if (typeof paths !== 'object' || paths === null) return ops;
  for (const [p, item] of Object.entries(paths)) {
    const methods = new Set<string>();
    for (const m of HTTP_METHODS) {
      if (typeof item === 'object' && item !== null && m in item) methods.add(m.toUpperCase());
    }
    ops.set(p, methods);
  }
  return ops;
}

/**
 * Every route must be documented and every documented operation must have a route.
 * Returns one line per mismatch; empty when the two agree. HEAD is only compared
 * when registered explicitly (express answers HEAD for every GET on its own).
 */
export function checkRoutesAgainstOpenApi(routes: readonly RouteInfo[], doc: unknown): string[] {
  const problems: string[] = [];
  const documented = documentOperations(doc);
  const registered = new Map<string, Set<string>>();
  for (const r of routes) {
    const p = toOpenApiPath(r.path);
    if (p === null) {
      problems.push(`route ${r.method} ${r.path}: its path cannot be written as an OpenAPI path template`);
      continue;
    }
    if (r.method === 'ALL') {
      // Allowed only as the 405 fallback after a path's own methods: the path must be documented.
      if (!documented.has(p)) {
        problems.push(`route ALL ${r.path}: .all() cannot be documented; register each method`);
      }
      continue;
    }
    const set = registered.get(p) ?? new Set<string>();
    set.add(r.method);
    registered.set(p, set);
  }

  const spelledAs = (p: string, among: Map<string, Set<string>>) => {
    const other = [...among.keys()].find((q) => q !== p && shape(q) === shape(p));
    return other ? ` (spelled ${other} there: the parameter names differ)` : '';
  };
  for (const [p, methods] of registered) {
    for (const m of methods) {
      if (!documented.get(p)?.has(m)) {
        problems.push(`route ${m} ${p} is not in the document${spelledAs(p, documented)}`);
      }
    }
  }
  for (const [p, methods] of documented) {
    for (const m of methods) {
      if (!registered.get(p)?.has(m)) {
        problems.push(`document ${m} ${p} has no route${spelledAs(p, registered)}`);
      }
    }
  }
  return problems.sort();
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Resolves a local JSON pointer (`#/components/parameters/PresetId`). */
function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObj(node) && !Array.isArray(node)) return undefined;
    node = (node as Obj)[key];
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * The structural rules of OpenAPI 3.1 that a hand-built document most easily
 * breaks: version, info, path syntax, operations with responses, path parameters
 * declared and required, unique operationIds, and every local $ref resolving.
 */
export function validateOpenApiDocument(doc: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(doc)) return ['the document is not an object'];
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) {
    problems.push(`openapi must be "3.1.x" (got ${JSON.stringify(doc.openapi)})`);
  }
  const info = doc.info;
  if (!isObj(info) || typeof info.title !== 'string' || typeof info.version !== 'string') {
    problems.push('info must have a string title and version');
  }
  if (!isObj(doc.paths)) return [...problems, 'paths must be an object'];

  const deref = (x: unknown): unknown =>
    isObj(x) && typeof x.$ref === 'string' ? resolvePointer(doc, x.$ref) : x;
  const operationIds = new Set<string>();
  const itemKeys = new Set<string>([
    'summary',
    'description',
    'parameters',
    'servers',
    '$ref',
    ...HTTP_METHODS,
  ]);

  for (const [p, item] of Object.entries(doc.paths)) {
    if (!p.startsWith('/')) problems.push(`path ${p} must start with /`);
    if (/\/:/.test(p)) problems.push(`path ${p} uses express syntax; OpenAPI writes {name}`);
    if (!isObj(item)) {
      problems.push(`path ${p} is not an object`);
      continue;
    }
    for (const k of Object.keys(item)) {
      if (!itemKeys.has(k) && !k.startsWith('x-')) problems.push(`path ${p} has an unknown key ${k}`);
    }
    const templated = new Set([...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? ''));
    const params = (list: unknown): Obj[] => (Array.isArray(list) ? list.map(deref).filter(isObj) : []);
    const shared = params(item.parameters);

    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (op === undefined) continue;
      const where = `${m.toUpperCase()} ${p}`;
      if (!isObj(op)) {
        problems.push(`${where} is not an object`);
        continue;
      }
      if (typeof op.operationId === 'string') {
        if (operationIds.has(op.operationId))
          problems.push(`${where}: operationId ${op.operationId} is used twice`);
        operationIds.add(op.operationId);
      }
      const responses = op.responses;
      if (!isObj(responses) || Object.keys(responses).length === 0) {
        problems.push(`${where} has no responses`);
      } else {
        for (const [status, r] of Object.entries(responses)) {
          if (!/^([1-5]XX|[1-5]\d\d|default)$/.test(status))
            problems.push(`${where}: bad response key ${status}`);
          const resolved = deref(r);
          if (!isObj(resolved) || typeof resolved.description !== 'string') {
            problems.push(`${where} ${status}: a response needs a description`);
          }
        }
      }
      const pathParams = [...shared, ...params(op.parameters)].filter((x) => x.in === 'path');
      const declared = new Set(pathParams.map((x) => String(x.name)));
      for (const name of templated) {
        if (!declared.has(name)) problems.push(`${where}: path parameter ${name} is not declared`);
      }
      for (const x of pathParams) {
        if (!templated.has(String(x.name)))
          problems.push(`${where}: parameter ${String(x.name)} is not in the path`);
        if (x.required !== true) problems.push(`${where}: path parameter ${String(x.name)} must be required`);
      }
    }
  }

  const visit = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${at}/${i}`));
    if (!isObj(node)) return;
    if (typeof node.$ref === 'string' && resolvePointer(doc, node.$ref) === undefined) {
      problems.push(`${at}: $ref ${node.$ref} does not resolve`);
    }
    for (const [k, v] of Object.entries(node))
      visit(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  };
  visit(doc, '#');
  return problems;
}
