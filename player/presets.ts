import { api, ApiError } from './api.js';
import { $, announce, el } from './dom.js';
import { defaults, SchemaForm, type JsonSchema } from './schema-form.js';
import { presets } from './store.js';
import type { Preset, PresetEntry } from './types.js';

/**
 * Presets: list, view, create, copy a built-in, edit and delete user presets. The form
 * comes from the preset schema in the OpenAPI document; the API validates, and its
 * error is shown at the field it names.
 */

type Mode = { kind: 'view'; entry: PresetEntry } | { kind: 'create' } | { kind: 'edit'; id: string };

let form: SchemaForm | null = null;
let mode: Mode = { kind: 'create' };

let schemaLoad: Promise<JsonSchema> | null = null;

/** The preset schema as the API publishes it, read once. */
function schema(): Promise<JsonSchema> {
  schemaLoad ??= api<{ components: { schemas: Record<string, JsonSchema> } }>(
    'GET',
    '/api/openapi.json',
  ).then((doc) => {
    const s = doc.components.schemas.PresetInput;
    if (!s) throw new Error('the OpenAPI document has no PresetInput schema');
    return s;
  });
  schemaLoad.catch(() => (schemaLoad = null));
  return schemaLoad;
}

async function ensureForm(): Promise<SchemaForm> {
  form ??= new SchemaForm($('preset-fields'), await schema());
  return form;
}

function setStatus(text: string, error = false): void {
  const s = $('preset-status');
  s.textContent = text;
  s.className = error ? 'error' : 'muted';
}

async function open(next: Mode, value: unknown, heading = 'New preset'): Promise<void> {
  const f = await ensureForm();
  mode = next;
  const title = $('preset-form-title');
  const save = $<HTMLButtonElement>('preset-save');
  const copy = $<HTMLButtonElement>('preset-copy');
  if (next.kind === 'view') {
    title.textContent = `${next.entry.preset.name} (${next.entry.preset.id})${next.entry.builtIn ? ': built-in, read-only' : ''}`;
    f.set(value, { readOnly: true });
  } else if (next.kind === 'edit') {
    title.textContent = `Edit ${next.id}`;
    f.set(value, { fixed: ['id'] });
  } else {
    title.textContent = heading;
    f.set(value);
  }
  save.hidden = next.kind === 'view';
  copy.hidden = next.kind !== 'view';
  $('preset-form-error').textContent = '';
  $('preset-editor').hidden = false;
  title.focus();
}

function close(): void {
  $('preset-editor').hidden = true;
  $('preset-new').focus();
}

function copyOf(p: Preset): Preset {
  const id = `${p.id}-copy`.slice(0, 64);
  return { ...structuredClone(p), id, name: `${p.name} (copy)`.slice(0, 120) };
}

async function save(): Promise<void> {
  const f = await ensureForm();
  f.clearErrors();
  $('preset-form-error').textContent = '';
  const body = f.get() as { id?: string };
  const saveButton = $<HTMLButtonElement>('preset-save');
  saveButton.disabled = true;
  try {
    const entry =
      mode.kind === 'edit'
        ? await api<PresetEntry>('PUT', `/api/presets/${encodeURIComponent(mode.id)}`, body)
        : await api<PresetEntry>('POST', '/api/presets', body);
    await presets.refresh();
    setStatus(`Saved preset ${entry.preset.id}.`);
    announce(`Saved preset ${entry.preset.id}`);
    await open({ kind: 'view', entry }, entry.preset);
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(0, 'error', String(e));
    // The API names the field at fault: say it there; anything else above the buttons.
    // At the field, the field's own name in front of the message says nothing new.
    const field = err.field;
    if (field !== undefined) {
      f.showError(
        field,
        err.message.startsWith(`${field}: `) ? err.message.slice(field.length + 2) : err.message,
      );
    }
    $('preset-form-error').textContent = `Not saved: ${err.message}`;
  } finally {
    saveButton.disabled = false;
  }
}

async function remove(entry: PresetEntry): Promise<void> {
  if (!confirm(`Delete preset ${entry.preset.id}? Jobs already queued keep their copy.`)) return;
  try {
    await api('DELETE', `/api/presets/${encodeURIComponent(entry.preset.id)}`);
    setStatus(`Deleted preset ${entry.preset.id}.`);
    announce(`Deleted preset ${entry.preset.id}`);
    if (mode.kind !== 'create') $('preset-editor').hidden = true;
    await presets.refresh();
  } catch (e) {
    setStatus(`Could not delete ${entry.preset.id}: ${e instanceof Error ? e.message : e}`, true);
  }
}

function actions(e: PresetEntry): HTMLElement {
  const id = e.preset.id;
  const button = (text: string, what: string, fn: () => void): HTMLButtonElement => {
    const b = el('button', { type: 'button', textContent: text });
    b.setAttribute('aria-label', `${what} ${id}`);
    b.addEventListener('click', fn);
    return b;
  };
  return el(
    'td',
    { className: 'actions' },
    button('View', 'View', () => void open({ kind: 'view', entry: e }, e.preset)),
    button(
      'Copy',
      'Copy',
      () => void open({ kind: 'create' }, copyOf(e.preset), `New preset, a copy of ${id}`),
    ),
    e.builtIn ? null : button('Edit', 'Edit', () => void open({ kind: 'edit', id }, e.preset)),
    e.builtIn ? null : button('Delete', 'Delete', () => void remove(e)),
  );
}

function render(list: PresetEntry[]): void {
  $('preset-rows').replaceChildren(
    ...list.map((e) =>
      el(
        'tr',
        { dataset: { preset: e.preset.id } },
        el('th', { scope: 'row', textContent: e.preset.name }),
        el('td', {}, el('code', { textContent: e.preset.id })),
        el('td', { textContent: e.builtIn ? 'built-in' : 'user' }),
        el('td', {
          textContent: e.preset.ladder.map((r) => `${r.height}p${Math.round(r.fps)}`).join(' '),
        }),
        el('td', {
          textContent: `${e.preset.gopSeconds} / ${e.preset.segmentSeconds} / ${e.preset.partSeconds} s`,
        }),
        actions(e),
      ),
    ),
  );
}

export function initPresets(): void {
  presets.subscribe(({ presets: list }) => render(list));
  $('preset-new').addEventListener('click', () => {
    void schema().then((s) => {
      // The schema's defaults and one rung to start from (a ladder needs at least one).
      const value = (defaults(s) ?? {}) as Record<string, unknown>;
      value.ladder = [{ width: 1280, height: 720, fps: 30, videoBitrateKbps: 2500, codec: 'h264' }];
      return open({ kind: 'create' }, value);
    });
  });
  $('preset-copy').addEventListener('click', () => {
    if (mode.kind === 'view') {
      const from = mode.entry.preset;
      void open({ kind: 'create' }, copyOf(from), `New preset, a copy of ${from.id}`);
    }
  });
  $('preset-cancel').addEventListener('click', close);
  $<HTMLFormElement>('preset-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void save();
  });
}
