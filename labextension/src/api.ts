/** Calls to the mlnb server extension (`<base_url>/mlnb/api/...`). */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | undefined>;

export async function requestAPI<T>(path: string, query: Query = {}, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const params = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = URLExt.join(settings.baseUrl, 'mlnb', 'api', path) + (params ? `?${params}` : '');
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(data?.message ?? response.statusText, response.status, data?.error ?? '');
  }
  return data as T;
}

/** The largest page the server gives (`MAX_PAGE` in mlnb/server/_routes.py). */
export const MAX_PAGE = 500;

/** A page of rows under one key (`runs`, `versions`, `events`) and whether there are more. */
export interface IPage {
  has_more: boolean;
  [key: string]: unknown;
}

/** ``limit`` rows under ``key`` from ``offset``, in requests of at most the server's largest page,
 * so a list grown past one page (by "Load more") can be refreshed whole. Returns the rows, whether
 * there are more, and the first page (for fields beside the rows). */
export async function fetchRows<T>(path: string, key: string, query: Query, offset: number, limit: number): Promise<[T[], boolean, IPage]> {
  let rows: T[] = [];
  let more = true;
  let first: IPage | null = null;
  while (more && (first === null || rows.length < limit)) {
    const ask = Math.max(1, Math.min(MAX_PAGE, limit - rows.length));
    const page = await requestAPI<IPage>(path, { ...query, offset: offset + rows.length, limit: ask });
    first = first ?? page;
    rows = rows.concat((page[key] as T[]) ?? []);
    more = page.has_more;
  }
  return [rows, more, first as IPage];
}

/** The URL of a project file (a run artifact); the server refuses paths outside the project. */
export function fileURL(path: string): string {
  const settings = ServerConnection.makeSettings();
  return URLExt.join(settings.baseUrl, 'mlnb', 'api', 'files') + `?path=${encodeURIComponent(path)}`;
}

export const segment = (value: string): string => encodeURIComponent(value);

export interface IStatus {
  project: string;
  version: string;
  areas: Record<string, boolean>;
}

export interface IRun {
  id: string;
  name: string | null;
  status: string;
  started_at: number | string | null;
  ended_at: number | string | null;
  duration: number | null;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  tags: string[];
  [key: string]: unknown;
}

export interface IListing {
  available: boolean;
  [key: string]: unknown;
}
