/**
 * Runs side by side (the Runs tab's Compare view): a table with differences first, identical
 * params folded away and the best value of each metric marked, then the charts the server built
 * (`mlnb.runs.compare(...).panel()`): metric histories overlaid per run, parallel coordinates of
 * the params to a chosen metric, and each param against that metric.
 */

import { requestAPI } from './api';
import { button, clear, el } from './dom';
import { setState } from './view';
import { embedChart } from './vega6';

interface ICompareRow {
  field: string;
  differs: boolean;
  values: string[];
  best: number[];
}

export interface IComparison {
  runs: { id: string; name: string; label: string; status: string }[];
  rows: ICompareRow[];
  metric: string | null;
  metrics: string[];
  lower_is_better: boolean | null;
  charts: Record<string, object>;
}

/** Drawn in this order; each spec carries its own title. */
const CHARTS = ['history', 'parallel', 'scatter'];

export class CompareView {
  readonly node = el('div', { cls: 'mlnb-compare-view' });
  private ids: string[] = [];
  private metric = '';
  private frees: (() => void)[] = [];
  private loads = 0;

  constructor(private readonly back: () => void) {}

  /** Compare runs ``ids`` (two or more), charts relating params to the default metric. */
  async show(ids: string[]): Promise<void> {
    this.ids = ids;
    this.metric = '';
    await this.load();
  }

  private free(): void {
    this.frees.forEach(f => f());
    this.frees = [];
  }

  /** Fetch and draw; ``data-fetch-ms`` and ``data-render-ms`` say how long from the request to
   * its answer and to the last chart drawn. */
  private async load(): Promise<void> {
    const load = ++this.loads;
    const started = performance.now();
    this.free();
    clear(this.node);
    setState(this.node, 'loading');
    const title = el('h3', { text: `Comparing ${this.ids.length} runs` });
    const head = el('div', { cls: 'mlnb-toolbar' }, button('← Runs', this.back, 'mlnb-back'));
    this.node.append(head, title);
    try {
      const data = await requestAPI<IComparison>('compare', { ids: this.ids.join(','), metric: this.metric || undefined });
      if (load !== this.loads) {
        return;
      }
      this.node.dataset.fetchMs = String(Math.round(performance.now() - started));
      if (data.metric) {
        head.append(this.metricChooser(data));
      }
      this.node.append(el('div', { cls: 'mlnb-compare-scroll' }, compareTable(data)));
      const drawn: Promise<void>[] = [];
      for (const name of CHARTS) {
        const spec = data.charts[name];
        if (spec) {
          const target = el('div', { cls: 'mlnb-compare-chart', data: { chart: name } });
          this.node.append(target);
          drawn.push(this.draw(target, spec));
        }
      }
      await Promise.all(drawn);
      if (load === this.loads) {
        this.node.dataset.renderMs = String(Math.round(performance.now() - started));
        setState(this.node, 'ok');
      }
    } catch (err) {
      if (load === this.loads) {
        this.node.append(el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
        setState(this.node, 'error');
      }
    }
  }

  private async draw(target: HTMLElement, spec: object): Promise<void> {
    try {
      this.frees.push(await embedChart(target, spec));
      target.dataset.state = 'rendered';
    } catch (err) {
      target.textContent = `chart unavailable: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private metricChooser(data: IComparison): HTMLLabelElement {
    const select = el('select', { cls: 'jp-mod-styled mlnb-compare-metric' });
    for (const name of data.metrics) {
      const option = el('option', { text: name });
      option.value = name;
      option.selected = name === data.metric;
      select.append(option);
    }
    select.addEventListener('change', () => {
      this.metric = select.value;
      void this.load();
    });
    return el('label', { cls: 'mlnb-hint', title: 'The metric the charts relate the parameters to' }, 'Metric ', select);
  }
}

/** One row per param and metric, a column per run: differing params first, identical ones folded
 * behind a toggle, and the best value of each metric marked. */
export function compareTable(data: IComparison): HTMLTableElement {
  const table = el('table', { cls: 'mlnb-table mlnb-compare-table' });
  table.append(el('thead', {}, el('tr', {}, el('th', { text: '' }), ...data.runs.map(r => el('th', { text: r.label, title: r.id })))));
  const body = el('tbody');
  const section = (text: string): HTMLTableRowElement =>
    el('tr', { cls: 'mlnb-section-row' }, el('th', { text }), ...data.runs.map(() => el('td')));
  const row = (r: ICompareRow, cls: string): HTMLTableRowElement =>
    el(
      'tr',
      { cls },
      el('th', { text: r.field.slice(r.field.indexOf('.') + 1), title: r.field }),
      ...r.values.map((v, i) => (r.best.includes(i) ? el('td', { cls: 'mlnb-best', text: `${v} ★`, title: 'best value' }) : el('td', { text: v })))
    );
  const params = data.rows.filter(r => r.field.startsWith('params.'));
  const metrics = data.rows.filter(r => r.field.startsWith('metrics.'));
  const same = params.filter(r => !r.differs);
  if (params.length) {
    body.append(section('params'));
    body.append(...params.filter(r => r.differs).map(r => row(r, 'mlnb-diff')));
  }
  if (same.length) {
    const rows = same.map(r => row(r, 'mlnb-same'));
    rows.forEach(r => (r.hidden = true));
    const toggle = button(`▸ ${same.length} identical param${same.length > 1 ? 's' : ''}`, () => {
      const show = rows[0].hidden;
      rows.forEach(r => (r.hidden = !show));
      toggle.textContent = `${show ? '▾' : '▸'} ${same.length} identical param${same.length > 1 ? 's' : ''}`;
    }, 'mlnb-compare-fold');
    const cell = el('td', {}, toggle);
    cell.colSpan = data.runs.length + 1;
    body.append(el('tr', {}, cell), ...rows);
  }
  if (metrics.length) {
    body.append(section('metrics'));
    body.append(...metrics.map(r => row(r, r.differs ? 'mlnb-metric-diff' : '')));
  }
  table.append(body);
  return table;
}
