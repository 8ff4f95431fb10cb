/** The Runs tab: latest runs first, a filter box, paging, selection for comparison. */

import { IRun, fetchRows } from './api';
import { button, clear, el, fmt, fmtDuration, fmtShortTime } from './dom';
import { CompareView } from './compare';
import { CurateControls, runActions, runBadges, runNote } from './curate';
import { RunDetail } from './rundetail';
import { InsertCode, IView, setState, showSide } from './view';
import { preloadCharts } from './vega6';

const PAGE = 50;
const KEY_METRICS = 3;

export class RunsView implements IView {
  readonly node = el('div', { cls: 'mlnb-view mlnb-runs' });
  private readonly filter = el('input', { cls: 'jp-mod-styled mlnb-filter' });
  private readonly compareButton: HTMLButtonElement;
  private readonly message = el('div', { cls: 'mlnb-message' });
  private readonly list = el('div', { cls: 'mlnb-list' });
  private readonly more: HTMLButtonElement;
  private readonly side = el('div', { cls: 'mlnb-side' });
  private readonly detail: RunDetail;
  private readonly comparison = new CompareView(() => this.showList());
  private runs: IRun[] = [];
  /** The run whose actions are open: kept open when the list is drawn again (a refresh) */
  private actionsOf: string | null = null;
  private readonly selected = new Map<string, IRun>();
  private hasMore = false;
  private open: 'list' | 'detail' | 'compare' = 'list';
  private debounce = 0;
  private readonly curate = new CurateControls(() => void this.refresh());

  constructor(insertCode: InsertCode) {
    this.filter.type = 'search';
    this.filter.placeholder = 'Filter runs';
    this.filter.title = "A name, or an expression: metrics.accuracy > 0.9 and status = 'finished'";
    this.filter.setAttribute('aria-label', 'Filter runs');
    this.filter.addEventListener('input', () => {
      window.clearTimeout(this.debounce);
      this.debounce = window.setTimeout(() => void this.refresh(), 300);
    });
    this.compareButton = button('Compare', () => this.showCompare(), 'mlnb-compare');
    this.more = button('Load more', () => void this.loadMore(), 'mlnb-more');
    this.detail = new RunDetail(insertCode, () => this.showList());
    const toolbar = el('div', { cls: 'mlnb-toolbar' }, this.filter, this.compareButton);
    this.node.append(toolbar, this.curate.node, this.message, this.list, this.more, this.side);
    this.updateSelection();
    setState(this.node, 'loading');
  }

  async refresh(): Promise<void> {
    if (this.open === 'detail') {
      await this.detail.refresh();
    }
    try {
      const [runs, more, first] = await this.fetch(0, Math.max(PAGE, this.runs.length));
      this.runs = runs;
      this.hasMore = more;
      this.message.textContent = first.available === false ? 'Runs are not available in this mlnb install.' : '';
      this.render();
    } catch (err) {
      this.showError(err, true);
    }
  }

  private async loadMore(): Promise<void> {
    try {
      const [runs, more] = await this.fetch(this.runs.length, PAGE);
      this.runs = this.runs.concat(runs);
      this.hasMore = more;
      this.render();
    } catch (err) {
      this.showError(err);
    }
  }

  private fetch(offset: number, limit: number): ReturnType<typeof fetchRows<IRun>> {
    return fetchRows<IRun>('runs', 'runs', { filter: toFilter(this.filter.value), ...this.curate.query() }, offset, limit);
  }

  private showError(err: unknown, stale = false): void {
    if (stale) {
      // a refused filter must not leave the previous list looking like its answer
      this.runs = [];
      this.hasMore = false;
      clear(this.list);
      this.more.hidden = true;
    }
    this.message.textContent = err instanceof Error ? err.message : String(err);
    this.message.classList.add('mlnb-error');
    setState(this.node, 'error');
  }

  private render(): void {
    this.message.classList.remove('mlnb-error');
    clear(this.list);
    this.more.hidden = !this.hasMore;
    if (!this.runs.length) {
      this.list.append(
        el('p', {
          cls: 'mlnb-empty',
          text: this.filter.value.trim() || this.curate.query().experiment || this.curate.lifecycle.value !== 'active'
            ? 'No runs match the filter.'
            : 'No runs yet: start one with mlnb.runs.start() in a notebook.'
        })
      );
      setState(this.node, 'empty');
      return;
    }
    const list = el('div', { cls: 'mlnb-runs-list' });
    list.setAttribute('role', 'list');
    for (const run of this.runs) {
      list.append(this.row(run));
    }
    this.list.append(list);
    setState(this.node, 'ok');
  }

  private row(run: IRun): HTMLDivElement {
    const check = el('input', { cls: 'mlnb-select' });
    check.type = 'checkbox';
    check.checked = this.selected.has(run.id);
    check.setAttribute('aria-label', `Select run ${run.name ?? run.id}`);
    check.addEventListener('click', event => event.stopPropagation());
    check.addEventListener('change', () => {
      if (check.checked) {
        this.selected.set(run.id, run);
      } else {
        this.selected.delete(run.id);
      }
      this.updateSelection();
    });
    const metrics = Object.entries(run.metrics ?? {})
      .slice(0, KEY_METRICS)
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join('  ');
    const when = [fmtShortTime(run.started_at), fmtDuration(run.duration)].filter(Boolean).join(' · ');
    const more = button('⋯', () => {
      const open = row.classList.toggle('mlnb-open');
      more.setAttribute('aria-expanded', String(open));
      this.actionsOf = open ? run.id : this.actionsOf === run.id ? null : this.actionsOf;
    }, 'mlnb-run-more');
    more.title = 'Rename, note, experiment, archive, delete or restore';
    const row = el(
      'div',
      { cls: 'mlnb-run', data: { runId: run.id, status: String(run.status ?? '') } },
      el(
        'div',
        { cls: 'mlnb-run-line' },
        check,
        el('span', { cls: 'mlnb-run-name', text: run.name || run.id, title: `${run.name ?? ''} (${run.id})` }),
        ...runBadges(run, name => this.curate.show(name, () => void this.refresh())),
        el('span', { cls: `mlnb-status mlnb-status-${statusClass(run.status)}`, text: fmt(run.status) }),
        more
      ),
      el('div', { cls: 'mlnb-run-line mlnb-run-sub' }, el('span', { cls: 'mlnb-when', text: when }), el('span', { cls: 'mlnb-metrics', text: metrics })),
      runNote(run),
      runActions(run, () => {
        this.actionsOf = null; // an action done closes them
        void this.refresh();
      }, err => this.showError(err))
    );
    // the actions open under the run on a click of its "⋯": never on hover, so no row moves under
    // the pointer; a refresh meanwhile (a run logged elsewhere) draws them open again
    const open = this.actionsOf === run.id;
    row.classList.toggle('mlnb-open', open);
    more.setAttribute('aria-label', `Actions on run ${run.name ?? run.id}`);
    more.setAttribute('aria-expanded', String(open));
    row.setAttribute('role', 'listitem');
    row.addEventListener('click', () => void this.showDetail(run.id));
    return row;
  }

  private updateSelection(): void {
    const n = this.selected.size;
    this.compareButton.disabled = n < 2;
    this.compareButton.textContent = n ? `Compare (${n})` : 'Compare';
    this.compareButton.title = 'Select two or more runs to compare them';
    if (n) {
      preloadCharts(); // Compare draws charts: load Vega while runs are being ticked
    }
  }

  /** Open run ``id``'s page (a link from another tab, such as a model version's lineage). */
  async openRun(id: string): Promise<void> {
    await this.showDetail(id);
  }

  private async showDetail(id: string): Promise<void> {
    this.open = 'detail';
    this.setSide(this.detail.node);
    await this.detail.show(id);
  }

  private showCompare(): void {
    const runs = [...this.selected.values()];
    if (runs.length < 2) {
      return;
    }
    this.open = 'compare';
    this.setSide(this.comparison.node);
    void this.comparison.show(runs.map(r => r.id));
  }

  private setSide(content: HTMLElement): void {
    showSide(this.node, this.side, content);
  }

  private showList(): void {
    this.open = 'list';
    showSide(this.node, this.side, null);
  }
}

/** Plain words search run names; anything with an operator is mlnb's filter language. */
export function toFilter(text: string): string {
  const t = text.trim();
  if (!t || /[=<>~!()'"`]|\b(and|or|not)\b|\b(metrics|params|tags)\./.test(t)) {
    return t;
  }
  return `name ~ '${t.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function statusClass(status: unknown): string {
  const s = String(status ?? '').toLowerCase();
  return /^[a-z]+$/.test(s) ? s : 'other';
}
