/** The Alerts tab: a table of what the area lists, or a note that it is not there yet. */

import { IListing, requestAPI } from './api';
import { clear, el, rowsTable } from './dom';
import { IView, setState } from './view';

export class ListingView implements IView {
  readonly node = el('div', { cls: 'mlnb-view' });

  constructor(
    private readonly endpoint: string,
    private readonly key: string,
    private readonly unavailable: string,
    private readonly empty: string
  ) {
    this.node.classList.add(`mlnb-${endpoint}`);
    setState(this.node, 'loading');
  }

  async refresh(): Promise<void> {
    try {
      const answer = await requestAPI<IListing>(this.endpoint);
      clear(this.node);
      const rows = (answer[this.key] as Record<string, unknown>[]) ?? [];
      if (!answer.available) {
        this.node.append(el('p', { cls: 'mlnb-empty mlnb-unavailable', text: this.unavailable }));
        setState(this.node, 'empty');
      } else if (!rows.length) {
        this.node.append(el('p', { cls: 'mlnb-empty', text: this.empty }));
        setState(this.node, 'empty');
      } else {
        this.node.append(rowsTable(rows));
        setState(this.node, 'ok');
      }
    } catch (err) {
      clear(this.node);
      this.node.append(el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
      setState(this.node, 'error');
    }
  }
}
