/**
 * Tiny DOM helpers. Every piece of user text (run names, params, tags, dataset names) goes in
 * through `textContent`; nothing in this extension assigns `innerHTML`.
 */

export type Child = Node | string | null | undefined | false;

export interface IProps {
  cls?: string;
  text?: string;
  title?: string;
  data?: Record<string, string>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: IProps = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.cls) {
    node.className = props.cls;
  }
  if (props.text !== undefined) {
    node.textContent = props.text;
  }
  if (props.title !== undefined) {
    node.title = props.title;
  }
  for (const [key, value] of Object.entries(props.data ?? {})) {
    node.dataset[key] = value;
  }
  append(node, ...children);
  return node;
}

export function append(node: HTMLElement, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export function clear(node: HTMLElement): void {
  node.replaceChildren();
}

export function button(text: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const node = el('button', { cls: `jp-Button mlnb-button ${cls}`.trim(), text });
  node.type = 'button';
  node.addEventListener('click', event => {
    event.stopPropagation();
    onClick();
  });
  return node;
}

/** A short human form of a value from the API. */
export function fmt(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : Number(value.toPrecision(6)).toString();
  }
  if (Array.isArray(value)) {
    return value.map(fmt).join(', ');
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}

/** Seconds since the epoch or an ISO string, shown in local time. */
export function fmtTime(value: unknown): string {
  if (value === null || value === undefined || value === '') {
    return '';
  }
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(String(value));
  if (isNaN(date.getTime())) {
    return String(value);
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** Like fmtTime, without the date for today and without seconds for other days. */
export function fmtShortTime(value: unknown): string {
  const full = fmtTime(value);
  const today = fmtTime(Date.now() / 1000).slice(0, 10);
  return full.startsWith(today) ? full.slice(11) : full.slice(0, 16);
}

/** A size in bytes, e.g. `1.5 KB`. */
export function fmtBytes(n: unknown): string {
  if (typeof n !== 'number') {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function fmtDuration(seconds: unknown): string {
  if (typeof seconds !== 'number' || !isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    // a quick run is "12 ms", not "0.0 s" (which reads as not measured)
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** A two-column key/value table. */
export function kvTable(values: Record<string, unknown>, cls = ''): HTMLTableElement {
  const table = el('table', { cls: `mlnb-kv ${cls}`.trim() });
  const body = el('tbody');
  for (const [key, value] of Object.entries(values)) {
    body.append(el('tr', {}, el('th', { text: key }), el('td', { text: fmt(value) })));
  }
  table.append(body);
  return table;
}

/** A table of rows (objects) with the given columns, or the union of their keys. */
export function rowsTable(rows: Record<string, unknown>[], columns?: string[]): HTMLTableElement {
  const cols = columns ?? [...new Set(rows.flatMap(row => Object.keys(row)))];
  const table = el('table', { cls: 'mlnb-table' });
  table.append(el('thead', {}, el('tr', {}, ...cols.map(c => el('th', { text: c })))));
  const body = el('tbody');
  for (const row of rows) {
    body.append(el('tr', {}, ...cols.map(c => el('td', { text: fmt(row[c]) }))));
  }
  table.append(body);
  return table;
}
