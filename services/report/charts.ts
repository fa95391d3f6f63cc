/**
 * Charts as inline SVG, rendered in Node without a browser: a Vega-Lite spec is compiled to Vega
 * and drawn by a headless view. vega and vega-lite ship as ES modules only, hence the dynamic
 * imports from this CommonJS build.
 */
export type ChartSpec = import('vega-lite', { with: { 'resolution-mode': 'import' }}).TopLevelSpec;

const theme = {
  config: {
    font: 'system-ui, sans-serif',
    axis: { labelFontSize: 11, titleFontSize: 12 },
    legend: { labelFontSize: 11, titleFontSize: 12 },
    view: { stroke: '#ddd' },
  },
};

export async function renderChart(spec: ChartSpec): Promise<string> {
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const compiled = compile({ ...theme, ...spec } as ChartSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
