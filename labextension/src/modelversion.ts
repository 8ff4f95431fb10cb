/**
 * One model version: overview, lineage (links to its run and data versions in the other tabs),
 * metrics, every alias move to or from it with its gate results, evaluations and signature.
 */

import { IRun, requestAPI, segment } from './api';
import { button, clear, el, fmt, fmtBytes, fmtTime, kvTable } from './dom';
import { IEvent, INavigate, aliasChip, aliasMove, section } from './modelparts';
import { InsertCode, pyString, setState } from './view';

/** The overview's fields and their labels. */
const OVERVIEW: [string, string][] = [
  ['flavour', 'flavour'],
  ['format', 'format'],
  ['size', 'size'],
  ['md5', 'hash'],
  ['created_at', 'created'],
  ['user', 'user'],
  ['host', 'host'],
  ['git_commit', 'git commit'],
  ['message', 'message']
];

interface IEvaluation {
  data: string | null;
  target: string;
  task: string;
  rows: number;
  metrics: Record<string, unknown>;
}

interface IVersionDetail {
  ref: string;
  name: string;
  version: number;
  aliases: string[];
  run_id: string | null;
  data: string[];
  metrics: Record<string, unknown>;
  signature: string[];
  evaluations: IEvaluation[];
  events: IEvent[];
  [key: string]: unknown;
}

export class VersionPage {
  readonly node = el('div', { cls: 'mlnb-model-detail' });
  private name = '';
  private version = 0;

  constructor(
    private readonly insertCode: InsertCode,
    private readonly navigate: INavigate,
    private readonly back: (name: string) => void
  ) {}

  async show(name: string, version: number): Promise<void> {
    [this.name, this.version] = [name, version];
    clear(this.node);
    setState(this.node, 'loading');
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const [name, version] = [this.name, this.version];
    try {
      const detail = await requestAPI<IVersionDetail>(`models/${segment(name)}/${version}`);
      const run = detail.run_id ? await runName(detail.run_id) : null;
      if (name === this.name && version === this.version) {
        this.render(detail, run);
      }
    } catch (err) {
      clear(this.node);
      this.node.append(this.toolbar(`${name}@${version}`), el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
      setState(this.node, 'error');
    }
  }

  private toolbar(ref: string): HTMLElement {
    const status = el('span', { cls: 'mlnb-hint' });
    const insert = button('Insert code', () => {
      if (!this.insertCode(`import mlnb\n\nmodel = mlnb.models.load(${pyString(ref)})\nmodel`)) {
        status.textContent = 'Open a notebook first.';
      }
    }, 'mlnb-insert');
    insert.title = `Add mlnb.models.load("${ref}") to the active notebook`;
    return el('div', { cls: 'mlnb-toolbar' }, button(`← ${this.name}`, () => this.back(this.name), 'mlnb-back'), insert, status);
  }

  private render(v: IVersionDetail, run: string | null): void {
    clear(this.node);
    const overview: Record<string, unknown> = {};
    for (const [key, label] of OVERVIEW) {
      const value = v[key];
      if (value !== null && value !== undefined && value !== '') {
        overview[label] = key === 'created_at' ? fmtTime(value) : key === 'size' ? fmtBytes(value) : key === 'md5' ? String(value).slice(0, 12) : value;
      }
    }
    this.node.append(
      this.toolbar(v.ref),
      el('h3', { cls: 'mlnb-run-title' }, v.ref, ' ', el('span', { cls: 'mlnb-chips' }, ...v.aliases.map(a => aliasChip(a)))),
      kvTable(overview),
      section('Lineage', this.lineage(v, run)),
      section('Metrics', Object.keys(v.metrics ?? {}).length ? kvTable(v.metrics) : none()),
      section('Alias moves and gates', ...(v.events.length ? v.events.map(e => aliasMove(e, true)) : [none()])),
      section('Evaluations', ...(v.evaluations.length ? v.evaluations.map(evaluation) : [none()])),
      section('Signature', v.signature.length ? el('p', { cls: 'mlnb-ref', text: v.signature.join(', ') }) : none())
    );
    setState(this.node, 'ok');
  }

  private lineage(v: IVersionDetail, run: string | null): HTMLElement {
    const list = el('ul', { cls: 'mlnb-lineage' });
    if (v.run_id) {
      const id = v.run_id;
      list.append(el('li', {}, 'run ', link(run ?? id, `Open run ${id} in the Runs tab`, () => this.navigate.run(id), 'run'), ' ', el('span', { cls: 'mlnb-hint', text: run ? id : '' })));
    }
    for (const ref of v.data) {
      list.append(el('li', {}, 'data ', link(ref, `Show ${ref} in the Data tab`, () => this.navigate.data(ref), 'data')));
    }
    return list.childElementCount ? list : none('registered outside a run, with no data version');
  }
}

function link(text: string, title: string, go: () => void, kind: string): HTMLAnchorElement {
  const a = el('a', { cls: 'mlnb-link mlnb-ref', text, title, data: { link: kind } });
  a.href = '#';
  a.addEventListener('click', event => {
    event.preventDefault();
    event.stopPropagation();
    go();
  });
  return a;
}

async function runName(id: string): Promise<string | null> {
  try {
    const run = await requestAPI<IRun>(`runs/${segment(id)}`);
    return run.name || null;
  } catch {
    return null; // the run may have been deleted: the id is still shown
  }
}

function none(text = 'none'): HTMLParagraphElement {
  return el('p', { cls: 'mlnb-empty', text });
}

function evaluation(e: IEvaluation): HTMLElement {
  const head = el(
    'div',
    { cls: 'mlnb-eval-head' },
    el('span', { cls: 'mlnb-ref mlnb-strong', text: e.data ?? '(deleted data)' }),
    el('span', { cls: 'mlnb-hint', text: `${e.task} of ${e.target}, ${fmt(e.rows)} rows` })
  );
  return el('div', { cls: 'mlnb-evaluation', data: { data: e.data ?? '' } }, head, kvTable(e.metrics));
}

