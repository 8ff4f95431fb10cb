/** The contract between the panel and its tabs. */

export interface IView {
  /** The tab's root node, attached once by the panel. */
  readonly node: HTMLElement;
  /** Fetch and redraw; called on first show and whenever the registry changes. */
  refresh(): Promise<void>;
}

/** Inserts code into the active notebook as a new cell; false when there is none. */
export type InsertCode = (code: string) => boolean;

/** Marks a node with its load state, which tests and CSS key on. */
export function setState(node: HTMLElement, state: 'loading' | 'ok' | 'empty' | 'error'): void {
  node.dataset.state = state;
}

/** A Python string literal for an id or name (JSON escapes are valid Python). */
export function pyString(value: string): string {
  return JSON.stringify(value);
}

/** A tab's list gives way to a page (a run, a model) in its ``side`` node; ``null`` brings the
 * list back (CSS hides the list while the tab has ``mlnb-mod-side``). */
export function showSide(view: HTMLElement, side: HTMLElement, page: HTMLElement | null): void {
  view.classList.toggle('mlnb-mod-side', page !== null);
  side.replaceChildren(...(page ? [page] : []));
}
