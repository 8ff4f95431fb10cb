/**
 * A mime renderer for Vega-Lite v6 and Vega v6 (`application/vnd.vegalite.v6+json`,
 * `application/vnd.vega.v6+json`). JupyterLab 4.6 only ships renderers up to v5, while Altair 6
 * emits v6. vega, vega-lite and vega-embed load in their own chunk on the first chart.
 *
 * Charts never fetch anything: specs carry their data inline, and the loader refuses URLs, so a
 * chart renders offline and an untrusted notebook cannot make the browser call out.
 */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

export const VEGALITE6_MIME = 'application/vnd.vegalite.v6+json';
export const VEGA6_MIME = 'application/vnd.vega.v6+json';

type Embed = typeof import('vega-embed');
let embedModule: Promise<Embed> | null = null;

function loadEmbed(): Promise<Embed> {
  embedModule ??= import(/* webpackChunkName: "mlnb-vega" */ 'vega-embed');
  return embedModule;
}

/** Start loading Vega's code in the background (a view about to draw charts, such as Compare
 * once runs are ticked), so the first chart does not wait for it. */
export function preloadCharts(): void {
  void loadEmbed();
}

/** Draw a Vega-Lite spec into ``node`` (the panel's charts); returns a function that frees it. */
export async function embedChart(node: HTMLElement, spec: object): Promise<() => void> {
  const { default: embed, vega } = await loadEmbed();
  const result = await embed(node, spec as any, { actions: false, renderer: 'svg', loader: offlineLoader(vega) });
  return () => result.finalize();
}

function offlineLoader(vega: Embed['vega']) {
  const loader = vega.loader();
  loader.sanitize = async (uri: string) => {
    throw new Error(`mlnb charts do not load data from URLs (${uri}); put the data in the spec`);
  };
  return loader;
}

export class RenderedVega6 extends Widget implements IRenderMime.IRenderer {
  private finalize: (() => void) | null = null;

  constructor(private readonly options: IRenderMime.IRendererOptions) {
    super();
    this.addClass('mlnb-vega6');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const mime = this.options.mimeType;
    const spec = model.data[mime] as any;
    if (!spec) {
      return;
    }
    const meta = (model.metadata[mime] ?? {}) as { embed_options?: Record<string, unknown> };
    const { default: embed, vega } = await loadEmbed();
    const loader = offlineLoader(vega);
    this.finalize?.();
    const result = await embed(this.node, spec, {
      actions: { export: true, source: false, compiled: false, editor: false },
      defaultStyle: true,
      // follow JupyterLab's dark themes, as its own v5 renderer does
      ...(document.body.dataset.jpThemeLight === 'false' ? { theme: 'dark' as const } : {}),
      ...(meta.embed_options ?? {}),
      mode: mime === VEGA6_MIME ? 'vega' : 'vega-lite',
      loader
    });
    this.finalize = () => result.finalize();
    this.node.dataset.state = 'rendered';
  }

  dispose(): void {
    this.finalize?.();
    this.finalize = null;
    super.dispose();
  }
}

const extension: IRenderMime.IExtension = {
  id: 'mlnb:vega6',
  description: 'Renders Vega-Lite v6 and Vega v6 charts offline (Altair 6 output).',
  // Ahead of JupyterLab's v5 renderer (rank 57), so a bundle carrying both draws with v6.
  rank: 56,
  dataType: 'json',
  rendererFactory: {
    safe: true,
    mimeTypes: [VEGALITE6_MIME, VEGA6_MIME],
    createRenderer: options => new RenderedVega6(options)
  }
};

export default extension;
