// Small DOM builders for the views. Text is always set as text (tokens can be "<script>").
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { el } from '../vscodeApi';

export { el };

export interface Choice<T extends string> {
  readonly value: T;
  readonly label: string;
}

/** A labelled select; `onChange` gets the chosen value. */
export function select<T extends string>(id: string, label: string, choices: readonly Choice<T>[], value: T, onChange: (v: T) => void): { root: HTMLElement; set(v: T): void; enable(on: boolean): void } {
  const root = el('label', { class: 'control', for: id });
  root.append(el('span', { class: 'control-label' }, label));
  const s = document.createElement('vscode-single-select') as HTMLElement & { value: string; disabled: boolean };
  s.id = id;
  s.setAttribute('aria-label', label);
  for (const c of choices) {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', c.value);
    o.textContent = c.label;
    s.append(o);
  }
  s.addEventListener('change', () => onChange(s.value as T));
  root.append(s);
  const set = (v: T): void => {
    s.value = v;
  };
  queueMicrotask(() => set(value));
  return { root, set, enable: (on) => (s.disabled = !on) };
}

/** A labelled number input. */
export function numberInput(id: string, label: string, value: number, range: { min: number; max: number }, onChange: (v: number) => void): { root: HTMLElement; set(v: number): void; setMax(max: number): void } {
  const root = el('label', { class: 'control', for: id });
  root.append(el('span', { class: 'control-label' }, label));
  const input = el('input', { id, type: 'number', min: String(range.min), max: String(range.max), value: String(value), 'aria-label': label });
  input.addEventListener('change', () => {
    const v = Math.round(Number(input.value));
    const clamped = Math.max(Number(input.min), Math.min(Number(input.max), Number.isFinite(v) ? v : range.min));
    input.value = String(clamped);
    onChange(clamped);
  });
  root.append(input);
  return { root, set: (v) => (input.value = String(v)), setMax: (max) => (input.max = String(max)) };
}

/** A labelled checkbox. */
export function checkbox(id: string, label: string, value: boolean, onChange: (v: boolean) => void): { root: HTMLElement; set(v: boolean): void } {
  const root = el('label', { class: 'control check', for: id });
  const input = el('input', { id, type: 'checkbox' });
  input.checked = value;
  input.addEventListener('change', () => onChange(input.checked));
  root.append(input, el('span', {}, label));
  return { root, set: (v) => (input.checked = v) };
}

export function button(label: string, onClick: () => void, attrs: Record<string, string> = {}): HTMLButtonElement {
  const b = el('button', { class: 'action', type: 'button', ...attrs }, label);
  b.addEventListener('click', onClick);
  return b;
}

/** A table from a header row and rows of cells (numbers formatted, strings as text). */
export function table(caption: string, headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>, attrs: Record<string, string> = {}): HTMLTableElement {
  const t = el('table', { class: 'data', ...attrs });
  t.append(el('caption', {}, caption));
  const head = el('tr');
  head.append(...headers.map((h) => el('th', { scope: 'col' }, h)));
  t.createTHead().append(head);
  const body = t.createTBody();
  for (const r of rows) {
    const tr = el('tr');
    r.forEach((c, i) => tr.append(el(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : {}, typeof c === 'number' ? fmt(c) : c)));
    body.append(tr);
  }
  return t;
}

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '–';
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}
