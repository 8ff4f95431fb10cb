/**
 * The Models tab: one row per model; a model's page (versions with alias chips and key metrics,
 * page by page, and the alias log); a version's page (`modelversion.ts`). Refreshed, whatever is
 * open, when the registry changes.
 */

import { fetchRows, requestAPI, segment } from './api';
import { append, button, clear, el, fmt, fmtShortTime } from './dom';
import { IEvent, INavigate, KEY_METRICS, aliasChip, aliasMove, keyMetrics, section } from './modelparts';
import { VersionPage } from './modelversion';
import { InsertCode, IView, setState, showSide } from './view';

const PAGE = 50;

export interface IModel {
  name: string;
  latest: string;
  versions: number;
  aliases: string[]; // "alias=version"
  metrics: Record<string, unknown>;
  updated: number | null;
}

export interface IModelVersion {
  version: number;
  aliases: string[];
  metrics: Record<string, unknown>;
  run_id: string | null;
  data: string[];
  created_at: number | null;
  [key: string]: unknown;
}

export class ModelsView implements IView {
  readonly node = el('div', { cls: 'mlnb-view mlnb-models' });
  private readonly message = el('div', { cls: 'mlnb-message' });
  private readonly list = el('div', { cls: 'mlnb-list' });
  private readonly side = el('div', { cls: 'mlnb-side' });
  private readonly model: ModelPage;
  private readonly version: VersionPage;
  private open: 'list' | 'model' | 'version' = 'list';
  private models: IModel[] = [];

  constructor(insertCode: InsertCode, navigate: INavigate) {
    this.version = new VersionPage(insertCode, navigate, name => void this.showModel(name));
    this.model = new ModelPage(
      () => this.showList(),
      (name, version) => void this.showVersion(name, version)
    );
    this.node.append(this.message, this.list, this.side);
    setState(this.node, 'loading');
  }

  async refresh(): Promise<void> {
    try {
      const answer = await requestAPI<{ available: boolean; models: IModel[] }>('models');
      this.models = answer.models ?? [];
      this.message.classList.remove('mlnb-error');
      this.message.textContent = answer.available ? '' : 'The model registry is not part of this mlnb install.';
      this.render(this.models);
    } catch (err) {
      this.message.textContent = err instanceof Error ? err.message : String(err);
      this.message.classList.add('mlnb-error');
      setState(this.node, 'error');
    }
    if (this.open === 'model') {
      await this.model.refresh(this.summaryOf(this.model.name));
    } else if (this.open === 'version') {
      await this.version.refresh();
    }
  }

  private summaryOf(name: string): IModel | null {
    return this.models.find(m => m.name === name) ?? null;
  }

  private render(models: IModel[]): void {
    clear(this.list);
    if (!models.length) {
      this.list.append(el('p', { cls: 'mlnb-empty', text: 'No models yet: mlnb.models.register("name", model) versions one.' }));
      setState(this.node, 'empty');
      return;
    }
    const list = el('div', { cls: 'mlnb-models-list' });
    list.setAttribute('role', 'list');
    for (const model of models) {
      list.append(this.row(model));
    }
    this.list.append(list);
    setState(this.node, 'ok');
  }

  private row(model: IModel): HTMLDivElement {
    const chips = aliasChips(model);
    const count = countText(model.versions);
    const row = el(
      'div',
      { cls: 'mlnb-model', data: { name: model.name } },
      el(
        'div',
        { cls: 'mlnb-run-line' },
        el('span', { cls: 'mlnb-run-name', text: model.name, title: model.latest }),
        el('span', { cls: 'mlnb-badge', text: `v${model.latest.split('@').pop()}`, title: `latest: ${model.latest}` }),
        el('span', { cls: 'mlnb-chips' }, ...chips)
      ),
      el(
        'div',
        { cls: 'mlnb-run-line mlnb-run-sub' },
        el('span', { cls: 'mlnb-when', text: `${count} · ${fmtShortTime(model.updated)}` }),
        el('span', { cls: 'mlnb-metrics', text: keyMetrics(model.metrics) })
      )
    );
    row.setAttribute('role', 'listitem');
    row.addEventListener('click', () => void this.showModel(model.name));
    return row;
  }

  private async showModel(name: string): Promise<void> {
    this.open = 'model';
    this.setSide(this.model.node);
    await this.model.show(name, this.summaryOf(name));
  }

  private async showVersion(name: string, version: number): Promise<void> {
    this.open = 'version';
    this.setSide(this.version.node);
    await this.version.show(name, version);
  }

  private setSide(content: HTMLElement): void {
    showSide(this.node, this.side, content);
  }

  private showList(): void {
    this.open = 'list';
    showSide(this.node, this.side, null);
  }
}

/** A model: its versions newest first (loaded a page at a time) and its alias log. */
class ModelPage {
  readonly node = el('div', { cls: 'mlnb-model-page' });
  name = '';
  private summary: IModel | null = null;
  private versions: IModelVersion[] = [];
  private events: IEvent[] = [];
  private moreVersions = false;
  private moreEvents = false;

  constructor(
    private readonly back: () => void,
    private readonly openVersion: (name: string, version: number) => void
  ) {}

  async show(name: string, summary: IModel | null): Promise<void> {
    this.name = name;
    this.versions = [];
    this.events = [];
    clear(this.node);
    setState(this.node, 'loading');
    await this.refresh(summary);
  }

  /** Re-read as many versions and events as are shown (at least a page of each); ``summary`` is
   * the model's row of the listing (its version count and every alias, wherever its holder is). */
  async refresh(summary: IModel | null): Promise<void> {
    const name = this.name;
    this.summary = summary;
    try {
      const [versions, events] = await Promise.all([
        this.fetch<IModelVersion>('', 'versions', 0, Math.max(PAGE, this.versions.length)),
        this.fetch<IEvent>('/history', 'events', 0, Math.max(PAGE, this.events.length))
      ]);
      if (name === this.name) {
        [this.versions, this.moreVersions] = versions;
        [this.events, this.moreEvents] = events;
        this.render();
      }
    } catch (err) {
      clear(this.node);
      this.node.append(this.toolbar(), el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
      setState(this.node, 'error');
    }
  }

  private async fetch<T>(path: string, key: string, offset: number, limit: number): Promise<[T[], boolean]> {
    const [rows, more] = await fetchRows<T>(`models/${segment(this.name)}${path}`, key, {}, offset, limit);
    return [rows, more];
  }

  private async loadMore(kind: 'versions' | 'events'): Promise<void> {
    if (kind === 'versions') {
      const [rows, more] = await this.fetch<IModelVersion>('', 'versions', this.versions.length, PAGE);
      this.versions = this.versions.concat(rows);
      this.moreVersions = more;
    } else {
      const [rows, more] = await this.fetch<IEvent>('/history', 'events', this.events.length, PAGE);
      this.events = this.events.concat(rows);
      this.moreEvents = more;
    }
    this.render();
  }

  private toolbar(): HTMLElement {
    return el('div', { cls: 'mlnb-toolbar' }, button('← Models', this.back, 'mlnb-back'));
  }

  private render(): void {
    clear(this.node);
    const summary = this.summary;
    append(
      this.node,
      this.toolbar(),
      el('h3', { cls: 'mlnb-run-title', text: this.name }),
      summary &&
        el(
          'div',
          { cls: 'mlnb-run-line mlnb-model-summary' },
          el('span', { cls: 'mlnb-hint', text: `${countText(summary.versions)} · latest ${summary.latest}` }),
          el('span', { cls: 'mlnb-chips' }, ...aliasChips(summary))
        ),
      this.versionsSection(),
      this.eventsSection()
    );
    setState(this.node, 'ok');
  }

  private versionsSection(): HTMLElement {
    // the metric columns: those of the newest version first, then any other, at most three
    const names = [...new Set(this.versions.flatMap(v => Object.keys(v.metrics ?? {})))].slice(0, KEY_METRICS);
    const table = el('table', { cls: 'mlnb-table mlnb-model-versions' });
    const head = [el('th', { text: 'version' }), el('th', { text: 'aliases' }), ...names.map(n => el('th', { cls: 'mlnb-num', text: n })), el('th', { text: 'created' })];
    table.append(el('thead', {}, el('tr', {}, ...head)));
    const body = el('tbody');
    for (const v of this.versions) {
      const row = el(
        'tr',
        { cls: 'mlnb-model-version', data: { version: String(v.version) } },
        el('td', { cls: 'mlnb-ref', text: `@${v.version}` }),
        el('td', {}, ...v.aliases.map(a => aliasChip(a))),
        ...names.map(n => el('td', { cls: 'mlnb-num', text: fmt(v.metrics?.[n]) })),
        el('td', { cls: 'mlnb-when', text: fmtShortTime(v.created_at) })
      );
      row.title = `Open ${this.name}@${v.version}`;
      row.addEventListener('click', () => this.openVersion(this.name, v.version));
      body.append(row);
    }
    table.append(body);
    const more = this.moreVersions ? button('Load more versions', () => void this.loadMore('versions'), 'mlnb-more') : null;
    return section('Versions', el('div', { cls: 'mlnb-scroll' }, table), more);
  }

  private eventsSection(): HTMLElement {
    if (!this.events.length) {
      return section('Alias log', el('p', { cls: 'mlnb-empty', text: 'No alias moved yet.' }));
    }
    const more = this.moreEvents ? button('Load more events', () => void this.loadMore('events'), 'mlnb-more') : null;
    return section('Alias log', el('div', { cls: 'mlnb-events' }, ...this.events.map(e => aliasMove(e, false))), more);
  }

}

function countText(versions: number): string {
  return `${versions} version${versions === 1 ? '' : 's'}`;
}

/** The listing's "alias=version" strings as chips. */
function aliasChips(model: IModel): HTMLSpanElement[] {
  return model.aliases.map(a => {
    const at = a.lastIndexOf('=');
    return aliasChip(a.slice(0, at), a.slice(at + 1));
  });
}
