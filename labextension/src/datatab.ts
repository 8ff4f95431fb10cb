/** Inside one data version (the Data tab): its schema, its first rows, and what changed against
 * another version of the dataset (GET datasets/<name>/<version>, datadiff?a=&b=). */

import { requestAPI, segment } from './api';
import { clear, el, rowsTable } from './dom';
import { setState } from './view';

interface IVersionDetail {
  ref: string;
  schema: Record<string, unknown>[];
  preview: { columns: string[]; rows: Record<string, unknown>[]; error?: string };
  [key: string]: unknown;
}

interface IDiff {
  changes: { change: string; column: string; before: unknown; after: unknown }[];
}

const SCHEMA_COLUMNS = ['column', 'dtype', 'nulls', 'distinct', 'min', 'max', 'mean'];

/** Fill ``into`` with version ``version`` of dataset ``name``; ``others`` are the dataset's other
 * version numbers, offered to diff against (the one before it first). */
export async function showVersionDetail(into: HTMLElement, name: string, version: number, others: number[]): Promise<void> {
  clear(into);
  setState(into, 'loading');
  try {
    const detail = await requestAPI<IVersionDetail>(`datasets/${segment(name)}/${version}`);
    clear(into);
    into.append(el('h4', { text: `Schema of ${detail.ref}` }));
    const schema = detail.schema.filter(r => r !== null);
    into.append(schema.length ? rowsTable(schema, SCHEMA_COLUMNS.filter(c => schema.some(r => r[c] !== null && r[c] !== undefined))) : el('p', { cls: 'mlnb-empty', text: 'no schema recorded' }));
    into.append(el('h4', { text: 'First rows' }));
    const preview = detail.preview;
    const wrap = el('div', { cls: 'mlnb-preview-wrap mlnb-preview' });
    wrap.append(preview.error ? el('p', { cls: 'mlnb-empty', text: preview.error }) : rowsTable(preview.rows, preview.columns));
    into.append(wrap);
    if (others.length) {
      into.append(diffPicker(name, version, others));
    }
    setState(into, 'ok');
  } catch (err) {
    clear(into);
    into.append(el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
    setState(into, 'error');
  }
}

function diffPicker(name: string, version: number, others: number[]): HTMLElement {
  const select = el('select', { cls: 'jp-mod-styled mlnb-diff-against' });
  select.setAttribute('aria-label', 'Diff against version');
  const earlier = others.filter(v => v < version);
  const order = [...earlier.sort((a, b) => b - a), ...others.filter(v => v > version).sort((a, b) => a - b)];
  for (const v of order) {
    const option = el('option', { text: `v${v}` });
    option.value = String(v);
    select.append(option);
  }
  const result = el('div', { cls: 'mlnb-datadiff' });
  const run = () => void showDiff(result, `${name}@${select.value}`, `${name}@${version}`);
  select.addEventListener('change', run);
  select.addEventListener('click', event => event.stopPropagation());
  run();
  return el('div', { cls: 'mlnb-diff-section' }, el('h4', {}, 'Changes from ', select), result);
}

async function showDiff(into: HTMLElement, a: string, b: string): Promise<void> {
  setState(into, 'loading');
  try {
    const { changes } = await requestAPI<IDiff>('datadiff', { a, b });
    clear(into);
    if (!changes.length) {
      into.append(el('p', { cls: 'mlnb-empty', text: 'identical content' }));
    } else {
      const table = rowsTable(changes, ['change', 'column', 'before', 'after']);
      table.querySelectorAll('tbody tr').forEach((tr, i) => {
        const what = changes[i].change;
        (tr as HTMLElement).dataset.change = what;
        tr.classList.toggle('mlnb-change-removed', what.endsWith('removed'));
        tr.classList.toggle('mlnb-change-added', what.endsWith('added'));
      });
      into.append(table);
    }
    setState(into, 'ok');
  } catch (err) {
    clear(into);
    into.append(el('p', { cls: 'mlnb-error', text: err instanceof Error ? err.message : String(err) }));
    setState(into, 'error');
  }
}
