/**
 * mlnb's JupyterLab plugin: the "MLOps" side panel (left area, id `mlnb-panel`).
 * The Vega-Lite v6 renderer is a separate mime extension (`vega6.ts`).
 */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { MlnbPanel } from './panel';

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161"><rect x="3" y="13" width="4" height="8" rx="1"/>
<rect x="10" y="8" width="4" height="13" rx="1"/><rect x="17" y="3" width="4" height="18" rx="1"/></g></svg>`;

export const mlnbIcon = new LabIcon({ name: 'mlnb:icon', svgstr: ICON });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'mlnb:panel',
  description: 'The MLOps side panel: runs, data versions, models and alerts of the mlnb project.',
  autoStart: true,
  optional: [ILayoutRestorer, INotebookTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null
  ) => {
    const insertCode = (code: string): boolean => {
      const current = notebooks?.currentWidget;
      if (!current) {
        Notification.warning('Open a notebook to insert mlnb code into it.', { autoClose: 4000 });
        return false;
      }
      const notebook = current.content;
      NotebookActions.insertBelow(notebook);
      notebook.activeCell?.model.sharedModel.setSource(code);
      app.shell.activateById(current.id);
      return true;
    };

    const panel = new MlnbPanel(insertCode);
    panel.id = 'mlnb-panel';
    panel.title.icon = mlnbIcon;
    panel.title.label = 'MLOps';
    panel.title.caption = 'MLOps: runs, data, models, alerts';
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, 'mlnb-panel');

    app.commands.addCommand('mlnb:open-panel', {
      label: 'Show the MLOps panel',
      execute: () => app.shell.activateById(panel.id)
    });
    palette?.addItem({ command: 'mlnb:open-panel', category: 'mlnb' });
  }
};

export default plugin;
