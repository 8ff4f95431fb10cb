/** What the Models tab and a version's page share: the API's shapes and small pieces of DOM. */

import { append, el, fmt, fmtShortTime } from './dom';

/** How many metrics a row shows. */
export const KEY_METRICS = 3;

export interface IGate {
  gate: string;
  passed: boolean;
  value: string;
  detail: string;
}

export interface IEvent {
  time: number;
  alias: string;
  action: string;
  from: string | null;
  to: string | null;
  user: string | null;
  host: string | null;
  forced: boolean;
  reason: string;
  gates: IGate[];
}

/** Where a lineage link leads: the run's page in the Runs tab, the version in the Data tab. */
export interface INavigate {
  run(id: string): void;
  data(ref: string): void;
}

/** An alias as a chip, e.g. "champion" (with "→ 3" where the holder is not obvious). */
export function aliasChip(alias: string, version?: string): HTMLSpanElement {
  return el('span', { cls: 'mlnb-chip', text: version ? `${alias} → ${version}` : alias, data: { alias } });
}

/** The first few metrics as `name=value`, in a fixed-width font like the Runs tab. */
export function keyMetrics(metrics: Record<string, unknown>): string {
  return Object.entries(metrics ?? {})
    .slice(0, KEY_METRICS)
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join('  ');
}

/** "churn@1 → churn@3", with "none" for an alias that was created or removed. */
export function moveText(e: IEvent): string {
  const short = (ref: string | null) => (ref ? `@${ref.split('@').pop()}` : 'none');
  return `${short(e.from)} → ${short(e.to)}`;
}

/** "2/2 passed" (green), "1/2 passed" (red), "forced" when moved past failing gates. */
export function gateSummary(e: IEvent): HTMLElement | string {
  if (!e.gates?.length) {
    return e.forced ? el('span', { cls: 'mlnb-status mlnb-status-failed', text: 'forced' }) : '';
  }
  const passed = e.gates.filter(g => g.passed).length;
  const ok = passed === e.gates.length;
  const text = `${passed}/${e.gates.length} passed${e.forced && !ok ? ', forced' : ''}`;
  return el('span', { cls: `mlnb-status mlnb-status-${ok ? 'finished' : 'failed'}`, text });
}

/** An open `<details>` with a title, as in the run page. */
export function section(title: string, ...content: (HTMLElement | null)[]): HTMLDetailsElement {
  const details = el('details', { cls: 'mlnb-section', data: { section: title } }, el('summary', { text: title }), ...content);
  details.open = true;
  return details;
}

/** One alias move: alias, action, from → to, gate badge, who and when, the reason, and with
 * ``gates`` the gate table (what each gate read and whether it passed). */
export function aliasMove(e: IEvent, gates: boolean): HTMLElement {
  const gateBadge = gateSummary(e);
  if (typeof gateBadge !== 'string') {
    gateBadge.title = e.gates.map(g => `${g.passed ? '✓' : '✗'} ${g.gate}`).join('\n');
  }
  const head = el(
    'div',
    { cls: 'mlnb-run-line mlnb-move-head' },
    aliasChip(e.alias),
    el('span', { cls: 'mlnb-move', text: `${e.action} ${moveText(e)}` }),
    gateBadge
  );
  const who = [e.user, e.host].filter(Boolean).join('@');
  const sub = el('div', { cls: 'mlnb-move-sub mlnb-hint' }, `${fmtShortTime(e.time)}${who ? ` · ${who}` : ''}`);
  if (e.reason) {
    append(sub, ' · ', el('span', { cls: 'mlnb-reason', text: e.reason }));
  }
  const parts: HTMLElement[] = [head, sub];
  if (gates && e.gates?.length) {
    parts.push(gateTable(e.gates));
  }
  return el('div', { cls: 'mlnb-alias-move', data: { action: e.action, alias: e.alias, to: e.to ?? '' } }, ...parts);
}

/** Each gate: ✓ or ✗, the gate as written, what it read; the detail (a test's numbers) below. */
function gateTable(gates: IGate[]): HTMLElement {
  return el(
    'div',
    { cls: 'mlnb-gates' },
    ...gates.map(g =>
      el(
        'div',
        { cls: `mlnb-gate ${g.passed ? 'mlnb-gate-pass' : 'mlnb-gate-fail'}`, data: { passed: String(g.passed) } },
        el('span', { cls: 'mlnb-gate-mark', text: g.passed ? '✓' : '✗', title: g.passed ? 'passed' : 'failed' }),
        el('span', { cls: 'mlnb-gate-text mlnb-ref', text: g.gate }),
        el('span', { cls: 'mlnb-gate-value', text: g.value }),
        g.detail && el('span', { cls: 'mlnb-gate-detail mlnb-hint', text: g.detail })
      )
    )
  );
}
