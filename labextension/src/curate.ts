/** Curating runs from the Runs tab: which runs are listed (experiment, lifecycle), and per run
 * rename, note, experiment, archive, delete and restore (POST runs/<id>/curate). */

import { InputDialog } from '@jupyterlab/apputils';

import { IRun, Query, requestAPI, segment } from './api';
import { button, el } from './dom';

const LIFECYCLES: [string, string][] = [
  ['active', 'Active runs'],
  ['archived', 'Archived'],
  ['deleted', 'Deleted'],
  ['all', 'All runs']
];

/** The experiment filter and lifecycle choice beside the Runs tab's filter box. */
export class CurateControls {
  readonly experiment = el('input', { cls: 'jp-mod-styled mlnb-experiment-filter' });
  readonly lifecycle = el('select', { cls: 'jp-mod-styled mlnb-lifecycle' });
  readonly node: HTMLDivElement;

  constructor(changed: () => void) {
    this.experiment.type = 'search';
    this.experiment.placeholder = 'Experiment';
    this.experiment.title = 'Only the runs of this experiment (its exact name)';
    this.experiment.setAttribute('aria-label', 'Experiment');
    let debounce = 0;
    this.experiment.addEventListener('input', () => {
      window.clearTimeout(debounce);
      debounce = window.setTimeout(changed, 300);
    });
    for (const [value, label] of LIFECYCLES) {
      const option = el('option', { text: label });
      option.value = value;
      this.lifecycle.append(option);
    }
    this.lifecycle.setAttribute('aria-label', 'Which runs');
    this.lifecycle.addEventListener('change', changed);
    this.node = el('div', { cls: 'mlnb-toolbar mlnb-curate-toolbar' }, this.experiment, this.lifecycle);
  }

  /** What the runs listing is asked for, beside its filter. */
  query(): Query {
    return { experiment: this.experiment.value.trim() || undefined, lifecycle: this.lifecycle.value };
  }

  /** Show experiment ``name``'s runs (a click on a run's experiment badge). */
  show(name: string, changed: () => void): void {
    this.experiment.value = name;
    changed();
  }
}

/** POST one curation of a run; the answer is the run's new state. */
export function curate(id: string, action: string, value?: string | null): Promise<IRun> {
  return requestAPI<IRun>(`runs/${segment(id)}/curate`, {}, { method: 'POST', body: JSON.stringify({ action, value }) });
}

/** A run's experiment and lifecycle as small badges, and its note as a line of its own. */
export function runBadges(run: IRun, showExperiment: (name: string) => void): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (typeof run.experiment === 'string' && run.experiment) {
    const name = run.experiment;
    const badge = el('span', { cls: 'mlnb-badge mlnb-experiment', text: name, title: `Experiment ${name}: show its runs` });
    badge.addEventListener('click', event => {
      event.stopPropagation();
      showExperiment(name);
    });
    out.push(badge);
  }
  if (typeof run.lifecycle === 'string' && run.lifecycle !== 'active') {
    out.push(el('span', { cls: `mlnb-badge mlnb-lifecycle-${run.lifecycle}`, text: run.lifecycle }));
  }
  return out;
}

export function runNote(run: IRun): HTMLElement | null {
  return typeof run.note === 'string' && run.note ? el('div', { cls: 'mlnb-run-note', text: run.note, title: run.note }) : null;
}

/** The per-run actions: small buttons that curate the run, then ``done`` (a refresh) or ``failed``. */
export function runActions(run: IRun, done: () => void, failed: (err: unknown) => void): HTMLElement {
  const act = (action: string, value?: string | null) => {
    curate(run.id, action, value).then(done, failed);
  };
  const ask = async (label: string, current: unknown, action: string) => {
    const answer = await InputDialog.getText({ title: label, text: typeof current === 'string' ? current : '' });
    if (answer.button.accept && answer.value !== null) {
      // an emptied experiment takes the run out of any; an empty name or note is the server's to judge
      act(action, action === 'experiment' && !answer.value.trim() ? null : answer.value);
    }
  };
  const lifecycle = String(run.lifecycle ?? 'active');
  const buttons = [
    button('Rename', () => void ask(`Rename run ${run.id}`, run.name, 'rename'), 'mlnb-act-rename'),
    button('Note', () => void ask(`Note on run ${run.name ?? run.id}`, run.note, 'note'), 'mlnb-act-note'),
    button('Experiment', () => void ask(`Experiment of run ${run.name ?? run.id}`, run.experiment, 'experiment'), 'mlnb-act-experiment')
  ];
  if (lifecycle === 'active') {
    buttons.push(button('Archive', () => act('archive'), 'mlnb-act-archive'), button('Delete', () => act('delete'), 'mlnb-act-delete'));
  } else {
    buttons.push(button('Restore', () => act('restore'), 'mlnb-act-restore'));
    if (lifecycle === 'archived') {
      buttons.push(button('Delete', () => act('delete'), 'mlnb-act-delete'));
    }
  }
  for (const b of buttons) {
    b.title = `${b.textContent} run ${run.name ?? run.id}`;
  }
  return el('div', { cls: 'mlnb-run-actions' }, ...buttons);
}
