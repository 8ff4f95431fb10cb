/**
 * The "MLOps" side panel: tabs Runs, Data, Models, Alerts over the mlnb server extension.
 *
 * While visible it polls `/mlnb/api/version` (a registry fingerprint that costs two `stat`
 * calls) and refreshes the open tab when it changes, so a run finished in a notebook shows up
 * without a reload.
 */

import { Widget } from '@lumino/widgets';
import { Message } from '@lumino/messaging';

import { ApiError, IStatus, requestAPI } from './api';
import { AlertsView } from './alerts';
import { button, el } from './dom';
import { DataView } from './data';
import { ModelsView } from './models';
import { RunsView } from './runs';
import { InsertCode, IView } from './view';

export const POLL_MS = 1500;

type TabName = 'runs' | 'data' | 'models' | 'alerts';

export class MlnbPanel extends Widget {
  private readonly views: Record<TabName, IView>;
  private readonly tabs = new Map<TabName, HTMLButtonElement>();
  private readonly project = el('div', { cls: 'mlnb-project' });
  private readonly body = el('div', { cls: 'mlnb-body' });
  private active: TabName = 'runs';
  private version: string | null | undefined = undefined;
  private timer = 0;
  private polling = false;

  constructor(insertCode: InsertCode) {
    super();
    this.addClass('mlnb-panel');
    const runs = new RunsView(insertCode);
    const data = new DataView(insertCode);
    const navigate = {
      run: (id: string) => void this.select('runs').then(() => runs.openRun(id)),
      data: (ref: string) => {
        const at = ref.lastIndexOf('@');
        void this.select('data').then(() => data.openVersion(ref.slice(0, at), Number(ref.slice(at + 1))));
      }
    };
    this.views = {
      runs,
      data,
      models: new ModelsView(insertCode, navigate),
      alerts: new AlertsView()
    };
    const bar = el('div', { cls: 'mlnb-tabs', data: {} });
    bar.setAttribute('role', 'tablist');
    for (const [name, label] of [
      ['runs', 'Runs'],
      ['data', 'Data'],
      ['models', 'Models'],
      ['alerts', 'Alerts']
    ] as [TabName, string][]) {
      const tab = button(label, () => void this.select(name), 'mlnb-tab');
      tab.dataset.tab = name;
      tab.setAttribute('role', 'tab');
      this.tabs.set(name, tab);
      bar.append(tab);
      this.views[name].node.hidden = true;
      this.body.append(this.views[name].node);
    }
    const refresh = button('⟳', () => void this.refresh(), 'mlnb-refresh');
    refresh.title = 'Refresh';
    const header = el('div', { cls: 'mlnb-header' }, el('span', { cls: 'mlnb-title', text: 'MLOps' }), refresh);
    this.node.append(header, this.project, bar, this.body);
    this.markTabs();
  }

  async select(name: TabName): Promise<void> {
    this.active = name;
    this.markTabs();
    await this.views[name].refresh();
  }

  /** Re-read the project status and the open tab. */
  async refresh(): Promise<void> {
    try {
      const status = await requestAPI<IStatus>('status');
      this.version = status.version;
      this.project.textContent = `project: ${status.project.split('/').filter(Boolean).pop() ?? status.project}`;
      this.project.title = status.project;
      this.node.dataset.version = status.version;
      this.node.dataset.project = 'yes';
    } catch (err) {
      this.node.dataset.project = 'no';
      this.project.textContent =
        err instanceof ApiError && err.code === 'not_a_project'
          ? 'No mlnb project here: run `mlnb init` in the folder JupyterLab serves.'
          : `mlnb server extension unavailable: ${err instanceof Error ? err.message : String(err)}`;
    }
    await this.views[this.active].refresh();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
    this.startPolling();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    window.clearTimeout(this.timer);
    this.polling = false;
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    super.dispose();
  }

  private startPolling(): void {
    if (this.polling) {
      return;
    }
    this.polling = true;
    const tick = async () => {
      if (!this.polling || this.isDisposed) {
        return;
      }
      try {
        const { version } = await requestAPI<{ version: string | null }>('version');
        if (version !== this.version) {
          await this.refresh();
        }
      } catch {
        // the server may be restarting; try again on the next tick
      }
      if (this.polling) {
        this.timer = window.setTimeout(() => void tick(), POLL_MS);
      }
    };
    this.timer = window.setTimeout(() => void tick(), POLL_MS);
  }

  private markTabs(): void {
    for (const [name, tab] of this.tabs) {
      const on = name === this.active;
      tab.classList.toggle('mlnb-mod-active', on);
      tab.setAttribute('aria-selected', String(on));
      this.views[name].node.hidden = !on;
    }
  }
}
