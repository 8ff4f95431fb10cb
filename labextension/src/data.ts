/** The Data tab: datasets and, on click, their versions. */

import { requestAPI, segment } from './api';
import { button, clear, el, fmt, fmtTime } from './dom';
import { InsertCode, IView, pyString, setState } from './view';
import { showVersionDetail } from './datatab';

interface IDataset {
  name: string;
  latest: number;
  path: string;
  size: number | null;
  rows: number | null;
  versions: number;
  updated: number | null;
  [key: string]: unknown;
}

interface IVersion {
  version: number;
  md5: string;
  size: number | null;
  rows: number | null;
  cols: number | null;
  message: string;
  created_at: number | null;
  [key: string]: unknown;
}

export class DataView implements IView {
  readonly node = el('div', { cls: 'mlnb-view mlnb-data' });
  private readonly expanded = new Set<string>();
  /** The version whose page is open, per dataset: a refresh (any change in the registry) keeps it open. */
  private readonly opened = new Map<string, number>();
  private marked = '';

  constructor(private readonly insertCode: InsertCode) {
    setState(this.node, 'loading');
  }

  async refresh(): Promise<void> {
    try {
      const { datasets } = await requestAPI<{ datasets: IDataset[] }>('datasets');
      await this.render(datasets);
    } catch (err) {
      clear(this.node);
      this.node.append(el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
      setState(this.node, 'error');
    }
  }

  /** Expand dataset ``name`` and mark its version ``version`` (a link from a model's lineage). */
  async openVersion(name: string, version: number): Promise<void> {
    this.expanded.add(name);
    this.marked = `${name}@${version}`;
    await this.refresh();
    this.node.querySelector('.mlnb-mod-marked')?.scrollIntoView({ block: 'nearest' });
  }

  private async render(datasets: IDataset[]): Promise<void> {
    const list = el('ul', { cls: 'mlnb-datasets' });
    for (const ds of datasets) {
      list.append(await this.item(ds));
    }
    clear(this.node);
    if (!datasets.length) {
      this.node.append(el('p', { cls: 'mlnb-empty', text: 'No datasets yet: mlnb.data.save(df, "name") versions one.' }));
      setState(this.node, 'empty');
      return;
    }
    this.node.append(list);
    setState(this.node, 'ok');
  }

  private async item(ds: IDataset): Promise<HTMLLIElement> {
    const versions = el('div', { cls: 'mlnb-versions' });
    const head = el(
      'div',
      { cls: 'mlnb-dataset-head', title: ds.path },
      el('span', { cls: 'mlnb-dataset-name', text: ds.name }),
      el('span', { cls: 'mlnb-badge', text: `v${ds.latest}` }),
      el('span', { cls: 'mlnb-hint', text: `${fmt(ds.rows)} rows · ${ds.versions} version${ds.versions === 1 ? '' : 's'} · ${fmtTime(ds.updated)}` })
    );
    const item = el('li', { cls: 'mlnb-dataset', data: { name: ds.name } }, head, versions);
    const toggle = async () => {
      if (this.expanded.has(ds.name)) {
        this.expanded.delete(ds.name);
        this.opened.delete(ds.name);
        clear(versions);
      } else {
        this.expanded.add(ds.name);
        await this.showVersions(ds.name, versions);
      }
    };
    head.addEventListener('click', () => void toggle());
    if (this.expanded.has(ds.name)) {
      await this.showVersions(ds.name, versions);
    }
    return item;
  }

  private async showVersions(name: string, into: HTMLElement): Promise<void> {
    const { versions } = await requestAPI<{ versions: IVersion[] }>(`datasets/${segment(name)}`);
    const table = el('table', { cls: 'mlnb-table' });
    table.append(el('thead', {}, el('tr', {}, ...['', 'version', 'hash', 'rows', 'message', 'created'].map(t => el('th', { text: t })))));
    const body = el('tbody');
    for (const v of versions) {
      const ref = `${name}@${v.version}`;
      const load = button('load', () => void this.insertCode(`import mlnb\n\ndf = mlnb.data.load(${pyString(ref)})\ndf.head()`));
      load.title = `Insert mlnb.data.load("${ref}") into the active notebook`;
      body.append(
        el(
          'tr',
          { cls: ref === this.marked ? 'mlnb-mod-marked' : '', data: { version: String(v.version) } },
          el('td', {}, load),
          el('td', { text: String(v.version) }),
          el('td', { text: String(v.md5 ?? '').slice(0, 10), title: v.md5 }),
          el('td', { text: fmt(v.rows) }),
          el('td', { text: v.message ?? '' }),
          el('td', { text: fmtTime(v.created_at) })
        )
      );
    }
    table.append(body);
    const detail = el('div', { cls: 'mlnb-version-detail' });
    detail.hidden = true;
    const numbers = versions.map(v => v.version);
    const open = (version: number) => {
      this.opened.set(name, version);
      detail.hidden = false;
      void showVersionDetail(detail, name, version, numbers.filter(n => n !== version));
    };
    body.querySelectorAll('tr').forEach((tr, i) => tr.addEventListener('click', () => open(numbers[i])));
    clear(into);
    into.append(table, detail);
    const wasOpen = this.opened.get(name);
    if (wasOpen !== undefined && numbers.includes(wasOpen)) {
      open(wasOpen);
    }
  }
}
