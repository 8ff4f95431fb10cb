/**
 * The Alerts tab: firing alerts first, then those resolved in the last week, one row each
 * (state, severity, model, rule, value against its threshold or band, window, times,
 * deliveries). Refreshed with the registry, so an alert fired by `mlnb monitor check` or by
 * `mlnb serve`'s monitor thread shows up while the tab is open.
 */

import { requestAPI } from './api';
import { clear, el, fmt, fmtShortTime } from './dom';
import { IView, setState } from './view';

export interface IDelivery {
  channel: string;
  event: string;
  state: string;
  attempts: number;
  error: string | null;
}

export interface IAlert {
  id: number;
  status: string;
  severity: string;
  model: string;
  rule: string;
  expression: string;
  value: number | null;
  threshold: number | null;
  lower: number | null;
  upper: number | null;
  window: string;
  window_start: number | null;
  started_at: number;
  resolved_at: number | null;
  note: string | null;
  deliveries: IDelivery[];
}

const COLUMNS = ['state', 'model', 'rule', 'value', 'limit', 'window', 'since', 'deliveries'];

function limit(alert: IAlert): string {
  if (alert.threshold !== null && alert.threshold !== undefined) {
    return fmt(alert.threshold);
  }
  return alert.lower !== null || alert.upper !== null ? `[${fmt(alert.lower)}, ${fmt(alert.upper)}]` : '';
}

function deliveries(alert: IAlert): HTMLElement {
  const failed = alert.deliveries.filter(d => d.state === 'failed');
  const node = el('span', {
    cls: failed.length ? 'mlnb-error' : '',
    text: !alert.deliveries.length
      ? 'no channels'
      : failed.length
        ? `${failed.length} failed`
        : `${alert.deliveries.filter(d => d.state === 'sent').length} sent`
  });
  node.title = alert.deliveries
    .map(d => `${d.channel} ${d.event}: ${d.state}${d.error ? ` (${d.error})` : ''}`)
    .join('\n');
  return node;
}

function row(alert: IAlert): HTMLTableRowElement {
  const firing = alert.status === 'firing';
  const state = el('span', {
    cls: `mlnb-chip mlnb-alert-state mlnb-alert-${firing ? alert.severity : 'resolved'}`,
    text: firing ? `${alert.severity} firing` : 'resolved'
  });
  const since = firing
    ? fmtShortTime(alert.started_at)
    : `${fmtShortTime(alert.started_at)} – ${fmtShortTime(alert.resolved_at)}`;
  const cells: (HTMLElement | string)[] = [
    state,
    alert.model,
    el('span', { cls: 'mlnb-ref', text: alert.expression, title: alert.rule }),
    fmt(alert.value),
    limit(alert),
    alert.window,
    since,
    deliveries(alert)
  ];
  const tr = el('tr', { cls: 'mlnb-alert', data: { id: String(alert.id), status: alert.status } });
  for (const cell of cells) {
    tr.append(el('td', {}, cell));
  }
  if (alert.note) {
    tr.title = alert.note;
  }
  return tr;
}

export class AlertsView implements IView {
  readonly node = el('div', { cls: 'mlnb-view mlnb-alerts' });

  constructor() {
    setState(this.node, 'loading');
  }

  async refresh(): Promise<void> {
    try {
      const answer = await requestAPI<{ available: boolean; alerts: IAlert[] }>('alerts');
      clear(this.node);
      const alerts = answer.alerts ?? [];
      if (!answer.available) {
        this.node.append(
          el('p', {
            cls: 'mlnb-empty mlnb-unavailable',
            text: 'Monitoring alerts are not part of this mlnb install yet.'
          })
        );
        setState(this.node, 'empty');
        return;
      }
      const firing = alerts.filter(a => a.status === 'firing').length;
      this.node.append(
        el('p', {
          cls: `mlnb-alerts-summary ${firing ? 'mlnb-error' : 'mlnb-hint'}`,
          text: firing
            ? `${firing} alert${firing > 1 ? 's' : ''} firing`
            : 'No alert firing. Rules: `mlnb monitor rule add`; checks: `mlnb monitor check MODEL`.'
        })
      );
      if (!alerts.length) {
        setState(this.node, 'empty');
        return;
      }
      const table = el('table', { cls: 'mlnb-table mlnb-alerts-table' });
      table.append(el('thead', {}, el('tr', {}, ...COLUMNS.map(c => el('th', { text: c })))));
      table.append(el('tbody', {}, ...alerts.map(row)));
      this.node.append(table);
      setState(this.node, 'ok');
    } catch (err) {
      clear(this.node);
      this.node.append(el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
      setState(this.node, 'error');
    }
  }
}
