/** Side-by-side comparison of runs: one row per param/metric, differing values marked. */

import { IRun } from './api';
import { el, fmt } from './dom';

export function compareTable(runs: IRun[]): HTMLTableElement {
  const table = el('table', { cls: 'mlnb-table mlnb-compare-table' });
  table.append(
    el('thead', {}, el('tr', {}, el('th', { text: '' }), ...runs.map(r => el('th', { text: r.name || r.id, title: r.id }))))
  );
  const body = el('tbody');
  for (const [section, pick] of [
    ['params', (r: IRun) => r.params ?? {}],
    ['metrics', (r: IRun) => r.metrics ?? {}]
  ] as const) {
    const keys = [...new Set(runs.flatMap(r => Object.keys(pick(r))))].sort();
    if (!keys.length) {
      continue;
    }
    body.append(el('tr', { cls: 'mlnb-section-row' }, el('th', { text: section }), ...runs.map(() => el('td'))));
    for (const key of keys) {
      const values = runs.map(r => fmt(pick(r)[key]));
      const differs = new Set(values).size > 1;
      body.append(
        el(
          'tr',
          { cls: differs ? 'mlnb-diff' : '' },
          el('th', { text: key }),
          ...values.map(v => el('td', { text: v }))
        )
      );
    }
  }
  table.append(body);
  return table;
}
