/** What the report pages share: escaping, tables and the stylesheet of a self-contained page. */
export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = (r: (string | number)[], tag: string) =>
    r.map((c) => `<${tag}>${escapeHtml(String(c))}</${tag}>`).join('');
  return `<table><thead><tr>${cells(head, 'th')}</tr></thead><tbody>${rows.map((r) => `<tr>${cells(r, 'td')}</tr>`).join('')}</tbody></table>`;
}

export const style = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}section{border-top:1px solid #ddd;margin-top:1.5em;padding-top:.5em}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}
td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}.verdict{font-size:15px}svg{display:block;margin:.5em 0;max-width:100%;height:auto}
.setup{color:#555;font-size:13px}`;
