/** One run: overview, params, metrics, lineage, artifacts, environment, and "insert code". */

import { IRun, fileURL, requestAPI, segment } from './api';
import { button, clear, el, fmt, fmtBytes, fmtDuration, fmtTime, kvTable, rowsTable } from './dom';
import { InsertCode, pyString, setState } from './view';
import { embedChart } from './vega6';
import { runActions } from './curate';

const OVERVIEW = ['id', 'name', 'experiment', 'status', 'lifecycle', 'note', 'error', 'started_at', 'ended_at', 'duration', 'notebook', 'git_commit', 'git_dirty', 'host', 'parent_id'];
// Shown otherwise (code as a block) or too bulky for the panel (full metric history).
const SKIP = ['code', 'history', 'pid'];  // history is drawn as charts
const SECTIONS: [string, string][] = [
  ['params', 'Parameters'],
  ['metrics', 'Metrics'],
  ['tags', 'Tags'],
  ['lineage', 'Lineage'],
  ['inputs', 'Inputs'],
  ['outputs', 'Outputs'],
  ['artifacts', 'Artifacts'],
  ['environment', 'Environment'],
  ['env', 'Environment']
];

export class RunDetail {
  readonly node = el('div', { cls: 'mlnb-run-detail' });
  private id = '';
  private freeChart: (() => void) | null = null;

  constructor(
    private readonly insertCode: InsertCode,
    private readonly back: () => void
  ) {}

  async show(id: string): Promise<void> {
    this.id = id;
    clear(this.node);
    setState(this.node, 'loading');
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const id = this.id;
    try {
      const run = await requestAPI<IRun>(`runs/${segment(id)}`);
      if (id === this.id) {
        this.render(run);
      }
    } catch (err) {
      clear(this.node);
      this.node.append(this.header(id), el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
      setState(this.node, 'error');
    }
  }

  private header(id: string): HTMLElement {
    const insert = button('Insert code', () => {
      if (!this.insertCode(`import mlnb\n\nrun = mlnb.runs.get(${pyString(id)})\nrun`)) {
        status.textContent = 'Open a notebook first.';
      }
    }, 'mlnb-insert');
    insert.title = `Add mlnb.runs.get("${id}") to the active notebook`;
    const status = el('span', { cls: 'mlnb-hint' });
    return el('div', { cls: 'mlnb-toolbar' }, button('← Runs', this.back, 'mlnb-back'), insert, status);
  }

  private render(run: IRun): void {
    this.freeChart?.();
    this.freeChart = null;
    clear(this.node);
    const overview: Record<string, unknown> = {};
    for (const key of OVERVIEW) {
      if (run[key] !== null && run[key] !== undefined && run[key] !== '') {
        const v = run[key];
        overview[key] = key.endsWith('_at') ? fmtTime(v) : key === 'duration' ? fmtDuration(v) : v;
      }
    }
    const failed = (err: unknown) => this.node.prepend(el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
    this.node.append(this.header(run.id), el('h3', { cls: 'mlnb-run-title', text: run.name || run.id }), runActions(run, () => void this.refresh(), failed), kvTable(overview));
    const shown = new Set([...OVERVIEW, ...SKIP]);
    for (const [key, title] of SECTIONS) {
      if (key in run) {
        shown.add(key);
        this.section(title, run[key]);
      }
      if (key === 'metrics') {
        this.history(run.history);
      }
    }
    for (const [key, value] of Object.entries(run)) {
      const empty = Array.isArray(value) ? !value.length : !Object.keys(value ?? {}).length;
      if (!shown.has(key) && value !== null && typeof value === 'object' && !empty) {
        this.section(key, value);
      }
    }
    if (typeof run.code === 'string' && run.code) {
      const code = el('details', { cls: 'mlnb-section' }, el('summary', { text: 'Code' }), el('pre', { cls: 'mlnb-code', text: run.code }));
      this.node.append(code);
    }
    setState(this.node, 'ok');
  }

  /** Metrics logged at several steps, as small line charts (vega loads on first use). */
  private history(value: unknown): void {
    const series = Object.entries((value ?? {}) as Record<string, { step: number[]; value: (number | null)[] }>).filter(
      ([, s]) => Array.isArray(s?.step) && s.step.length > 1
    );
    if (!series.length) {
      return;
    }
    const values = series.flatMap(([metric, s]) => s.step.map((step, i) => ({ metric, step, value: s.value[i] })));
    const chart = el('div', { cls: 'mlnb-history' });
    const details = el('details', { cls: 'mlnb-section' }, el('summary', { text: 'Metric history' }), chart);
    details.open = true;
    this.node.append(details);
    const spec = {
      data: { values },
      facet: { row: { field: 'metric', type: 'nominal', title: null } },
      spec: {
        width: 160,
        height: 60,
        mark: { type: 'line', point: values.length < 60 },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } }
        }
      },
      resolve: { scale: { y: 'independent' } }
    };
    embedChart(chart, spec)
      .then(finalize => {
        this.freeChart = finalize;
        chart.dataset.state = 'rendered';
      })
      .catch(err => {
        chart.textContent = `chart unavailable: ${err instanceof Error ? err.message : String(err)}`;
      });
  }

  private section(title: string, value: unknown): void {
    const details = el('details', { cls: 'mlnb-section' }, el('summary', { text: title }));
    details.open = true;
    const items = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
    if (items.length && items.every(v => typeof v?.ref === 'string')) {
      details.append(lineageList(items));
    } else if (items.length && items.every(v => typeof v?.path === 'string' && 'size' in v)) {
      details.append(artifactList(items));
    } else if (Array.isArray(value)) {
      if (!value.length) {
        details.append(el('p', { cls: 'mlnb-empty', text: 'none' }));
      } else if (value.every(v => v !== null && typeof v === 'object' && !Array.isArray(v))) {
        details.append(rowsTable(value as Record<string, unknown>[]));
      } else {
        details.append(el('p', { text: fmt(value) }));
      }
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      details.append(entries.length ? kvTable(value as Record<string, unknown>) : el('p', { cls: 'mlnb-empty', text: 'none' }));
    } else {
      details.append(el('p', { text: fmt(value) }));
    }
    this.node.append(details);
  }
}

/** Data versions a run read or wrote: `name@version` and the start of the content hash. */
function lineageList(items: Record<string, unknown>[]): HTMLUListElement {
  return el(
    'ul',
    { cls: 'mlnb-lineage' },
    ...items.map(v =>
      el('li', {}, el('span', { cls: 'mlnb-ref', text: String(v.ref) }), ' ', el('span', { cls: 'mlnb-hint', text: String(v.md5 ?? '').slice(0, 10), title: String(v.path ?? '') }))
    )
  );
}

/** Files a run logged, each a download link through the server's project-confined file route. */
function artifactList(items: Record<string, unknown>[]): HTMLUListElement {
  return el(
    'ul',
    { cls: 'mlnb-artifacts' },
    ...items.map(a => {
      const link = el('a', { cls: 'mlnb-artifact', text: String(a.path) });
      link.href = fileURL(String(a.path));
      link.download = String(a.path).split('/').pop() ?? 'artifact';
      return el('li', {}, link, ' ', el('span', { cls: 'mlnb-hint', text: fmtBytes(a.size) }));
    })
  );
}
