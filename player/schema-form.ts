import { el } from './dom.js';

/**
 * A form built from a JSON Schema (the preset schema of the OpenAPI document, itself
 * made from the API's zod schema), so the form has exactly the fields and limits the
 * API takes. Every input carries its dotted path (`ladder.0.width`): the path an API
 * validation error names in `field`, so the error is shown at its input.
 *
 * What it understands is what zod emits for our schemas: objects, arrays of objects,
 * string enums, unions of constants, integers and numbers with bounds, strings.
 */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  description?: string;
  $ref?: string;
}

type Json = unknown;
type Obj = Record<string, Json>;

const LABELS: Record<string, string> = {
  id: 'Id',
  videoBitrateKbps: 'Video bit rate (kb/s)',
  maxrateKbps: 'Max rate (kb/s)',
  bufsizeKbps: 'Buffer size (kb)',
  bitrateKbps: 'Bit rate (kb/s)',
  fps: 'Frame rate (fps)',
  width: 'Width (px)',
  height: 'Height (px)',
  sampleRate: 'Sample rate (Hz)',
  gopSeconds: 'GOP (s)',
  segmentSeconds: 'Segment duration (s)',
  partSeconds: 'Part duration (s)',
  encoders: 'Encoder settings',
  x264: 'x264 (software)',
  nvenc: 'NVENC',
  vaapi: 'VA-API',
  qsv: 'Quick Sync',
};

/** `videoBitrateKbps` → `Video bitrate kbps`, for keys without a label of their own. */
function label(key: string): string {
  return LABELS[key] ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

const domId = (path: string): string => `pf-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** The constants of `anyOf: [{const: 1}, {const: 2}]`, or null. */
function constants(s: JsonSchema): unknown[] | null {
  if (!s.anyOf?.every((a) => 'const' in a)) return null;
  return s.anyOf.map((a) => a.const);
}

function isType(s: JsonSchema, t: string): boolean {
  return s.type === t || (Array.isArray(s.type) && s.type.includes(t));
}

/** The schema's defaults, filled in at every level (what the API would store for an empty body). */
export function defaults(s: JsonSchema): Json {
  if (isType(s, 'object') && s.properties) {
    const base = (s.default as Obj | undefined) ?? {};
    const out: Obj = { ...base };
    for (const [k, p] of Object.entries(s.properties)) {
      const d = defaults(p);
      if (d !== undefined)
        out[k] =
          isType(p, 'object') && typeof base[k] === 'object'
            ? { ...(d as Obj), ...(base[k] as Obj) }
            : (base[k] ?? d);
    }
    return Object.keys(out).length ? out : undefined;
  }
  return s.default;
}

export class SchemaForm {
  readonly #root: HTMLElement;
  readonly #schema: JsonSchema;
  #readOnly = false;
  #fixed = new Set<string>();

  constructor(root: HTMLElement, schema: JsonSchema) {
    this.#root = root;
    this.#schema = schema;
  }

  /** Renders `value`; `fixed` paths are shown but not editable (an edited preset's id). */
  set(value: Json, o: { readOnly?: boolean; fixed?: string[] } = {}): void {
    this.#readOnly = o.readOnly ?? false;
    this.#fixed = new Set(o.fixed ?? []);
    this.#root.replaceChildren(...this.#fields(this.#schema, value, ''));
  }

  /** The form's value as the API takes it: empty optional fields left out. */
  get(): Json {
    return this.#collect(this.#schema, '');
  }

  clearErrors(): void {
    for (const input of this.#root.querySelectorAll<HTMLElement>('[aria-invalid="true"]'))
      input.removeAttribute('aria-invalid');
    for (const e of this.#root.querySelectorAll<HTMLElement>('.field-error')) e.textContent = '';
  }

  /**
   * Shows `message` at the input or group the dotted `field` names (or the nearest
   * enclosing one), marks it invalid and focuses it. False when nothing matches.
   */
  showError(field: string, message: string): boolean {
    for (let path = field; path; path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '') {
      const target = this.#root.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`);
      if (!target) continue;
      const error = this.#root.querySelector<HTMLElement>(`#${CSS.escape(domId(path))}-error`);
      if (error) error.textContent = message;
      target.setAttribute('aria-invalid', 'true');
      const focusable = target.matches('input, select, textarea')
        ? target
        : target.querySelector<HTMLElement>('input, select, textarea, button');
      focusable?.focus();
      return true;
    }
    return false;
  }

  #fields(s: JsonSchema, value: Json, path: string): HTMLElement[] {
    const props = s.properties ?? {};
    const obj = (value ?? {}) as Obj;
    return Object.entries(props).map(([key, p]) => {
      const sub = path ? `${path}.${key}` : key;
      const required = s.required?.includes(key) ?? false;
      if (isType(p, 'array') && p.items) return this.#array(key, p, obj[key], sub);
      if (isType(p, 'object') && p.properties) {
        return el(
          'fieldset',
          { className: 'group', dataset: { path: sub } },
          el('legend', { textContent: label(key) }),
          el('span', { className: 'field-error', id: `${domId(sub)}-error` }),
          ...this.#fields(p, obj[key], sub),
        );
      }
      return this.#leaf(key, p, obj[key], sub, required);
    });
  }

  #array(key: string, s: JsonSchema, value: Json, path: string): HTMLElement {
    const items = Array.isArray(value) ? value : [];
    const min = s.minItems ?? 0;
    const max = s.maxItems ?? Infinity;
    const rows = items.map((item, i) => {
      const sub = `${path}.${i}`;
      const remove = el('button', {
        type: 'button',
        textContent: 'Remove',
        disabled: this.#readOnly || items.length <= min,
      });
      remove.setAttribute('aria-label', `Remove ${label(key).toLowerCase()} item ${i + 1}`);
      remove.addEventListener('click', () => this.#edit(path, (list) => list.splice(i, 1)));
      return el(
        'fieldset',
        { className: 'group item', dataset: { path: sub } },
        el('legend', { textContent: `${label(key)}: ${i + 1}` }),
        el('span', { className: 'field-error', id: `${domId(sub)}-error` }),
        ...this.#fields(s.items!, item, sub),
        this.#readOnly ? null : remove,
      );
    });
    const add = el('button', { type: 'button', textContent: `Add to ${label(key).toLowerCase()}` });
    add.disabled = items.length >= max;
    add.addEventListener('click', () =>
      this.#edit(path, (list) =>
        list.push(structuredClone(list[list.length - 1] ?? defaults(s.items!) ?? {})),
      ),
    );
    return el(
      'fieldset',
      { className: 'group list', dataset: { path } },
      el('legend', { textContent: `${label(key)} (${min} to ${max})` }),
      el('span', { className: 'field-error', id: `${domId(path)}-error` }),
      ...rows,
      this.#readOnly ? null : add,
    );
  }

  /** Changes the array at `path` and renders again with what was typed so far. */
  #edit(path: string, change: (list: Json[]) => void): void {
    const value = this.get() as Obj;
    let node: Json = value;
    const keys = path.split('.');
    for (const k of keys.slice(0, -1)) node = (node as Obj)[k];
    const last = keys[keys.length - 1]!;
    const list = (((node as Obj)[last] as Json[] | undefined) ?? []).slice();
    change(list);
    (node as Obj)[last] = list;
    this.set(value, { readOnly: this.#readOnly, fixed: [...this.#fixed] });
    this.#root
      .querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"] legend`)
      ?.scrollIntoView({ block: 'nearest' });
  }

  #leaf(key: string, s: JsonSchema, value: Json, path: string, required: boolean): HTMLElement {
    const id = domId(path);
    const hints: string[] = [];
    if (s.minimum !== undefined && s.maximum !== undefined) hints.push(`${s.minimum} to ${s.maximum}`);
    if (s.default !== undefined) hints.push(`default ${String(s.default)}`);
    if (!required && s.default === undefined) hints.push('optional');
    const hint = el('span', { className: 'hint', id: `${id}-hint`, textContent: hints.join(', ') });
    const error = el('span', {
      className: 'field-error',
      id: `${id}-error`,
      attrs: { 'aria-live': 'polite' },
    });
    const current = value ?? s.default;
    let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    // A boolean is a choice of two (the passthrough flag); its value goes back as true or false.
    const choices = s.enum ?? constants(s) ?? (isType(s, 'boolean') ? [true, false] : undefined);
    if (choices) {
      const select = el('select');
      if (!required && s.default === undefined) select.append(new Option('(not set)', ''));
      for (const c of choices) select.append(new Option(String(c), String(c)));
      select.value = current === undefined ? '' : String(current);
      select.dataset.kind =
        typeof choices[0] === 'number' || typeof choices[0] === 'boolean' ? typeof choices[0] : 'string';
      input = select;
    } else if (isType(s, 'integer') || isType(s, 'number')) {
      input = el('input', { type: 'number', step: isType(s, 'integer') ? '1' : 'any' });
      if (s.minimum !== undefined) input.min = String(s.minimum);
      if (s.maximum !== undefined) input.max = String(s.maximum);
      input.value = current === undefined ? '' : String(current);
      input.dataset.kind = 'number';
    } else if ((s.maxLength ?? 0) > 200) {
      input = el('textarea', { rows: 2, value: current === undefined ? '' : String(current) });
    } else {
      input = el('input', { type: 'text', value: current === undefined ? '' : String(current) });
      input.autocomplete = 'off';
      input.spellcheck = false;
    }
    input.id = id;
    input.name = path;
    input.dataset.path = path;
    if (required) input.setAttribute('aria-required', 'true');
    input.setAttribute('aria-describedby', `${id}-hint ${id}-error`);
    if (this.#readOnly || this.#fixed.has(path)) {
      if (input instanceof HTMLSelectElement) input.disabled = true;
      else input.readOnly = true;
    }
    return el(
      'div',
      { className: 'field' },
      el('label', { htmlFor: id, textContent: `${label(key)}${required ? ' *' : ''}` }),
      input,
      hint,
      error,
    );
  }

  #collect(s: JsonSchema, path: string): Json {
    if (isType(s, 'array') && s.items) {
      const out: Json[] = [];
      for (let i = 0; this.#root.querySelector(`[data-path="${CSS.escape(`${path}.${i}`)}"]`); i++) {
        out.push(this.#collect(s.items, `${path}.${i}`));
      }
      return out;
    }
    if (isType(s, 'object') && s.properties) {
      const out: Obj = {};
      for (const [k, p] of Object.entries(s.properties)) {
        const v = this.#collect(p, path ? `${path}.${k}` : k);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    const input = this.#root.querySelector<HTMLInputElement | HTMLSelectElement>(
      `input[data-path="${CSS.escape(path)}"], select[data-path="${CSS.escape(path)}"], textarea[data-path="${CSS.escape(path)}"]`,
    );
    if (!input || input.value === '') return undefined;
    // A number the API rejects as such ("must be a number") is better than one silently dropped.
    if (input.dataset.kind === 'number')
      return Number.isNaN(Number(input.value)) ? input.value : Number(input.value);
    if (input.dataset.kind === 'boolean') return input.value === 'true';
    return input.value;
  }
}
