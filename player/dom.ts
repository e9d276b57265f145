/** Small DOM helpers shared by the console's panels. */

export const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

export function setText(id: string, text: string): void {
  $(id).textContent = text;
}

type Child = Node | string | null | undefined | false;

/** `el('li', {className: 'x'}, 'text', child)`: an element with properties and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & {
    dataset?: Record<string, string>;
    attrs?: Record<string, string>;
  } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { dataset, attrs, ...rest } = props;
  Object.assign(node, rest);
  for (const [k, v] of Object.entries(dataset ?? {})) node.dataset[k] = v;
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** A live region for short announcements ("Copied"), read by screen readers. */
export function announce(text: string): void {
  const region = document.getElementById('announce');
  if (!region) return;
  region.textContent = '';
  // A change the screen reader notices even when the same text comes twice.
  setTimeout(() => (region.textContent = text), 50);
}

/**
 * Copies text. navigator.clipboard exists only in secure contexts (https, localhost);
 * on a plain-http LAN address the selection fallback is what works.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the selection fallback
  }
  const area = el('textarea', { value: text, readOnly: true, className: 'visually-hidden' });
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  return ok;
}

/** A "Copy" button for what `value()` gives, announcing the result. */
export function copyButton(label: string, value: () => string): HTMLButtonElement {
  const b = el('button', { type: 'button', className: 'copy', textContent: 'Copy' });
  b.setAttribute('aria-label', `Copy ${label}`);
  b.addEventListener('click', async () => {
    const ok = await copyText(value());
    b.textContent = ok ? 'Copied' : 'Copy failed';
    announce(ok ? `${label} copied` : `could not copy the ${label}`);
    setTimeout(() => (b.textContent = 'Copy'), 1500);
  });
  return b;
}

/** True while the panel named `name` is the one shown. */
export function panelShown(name: string): boolean {
  return !document.getElementById(`panel-${name}`)?.hidden;
}
