/** The dashboard's style sheet, served at `/assets/dashboard.css` (no external fonts or assets). */
export const dashboardStyles = String.raw`:root{--ink:#1d2733;--muted:#4a5764;--line:#d5dbe1;--bg:#f4f6f8;--panel:#fff;--accent:#1f5fa8;--ok:#1b7f3b;--warn:#a45a00;--bad:#a4161a}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:2}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.top{display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap;padding:.75rem 1.5rem;background:#14263b;color:#fff}
.top h1{font-size:1.25rem;margin:0}
.top .overall{margin:0;font-weight:600;padding:.2rem .6rem;border-radius:4px;background:#2a3f57}
.top .overall.ok{background:#1b5e35}.top .overall.warn{background:#8a4b00}
.top .refreshed{margin:0 0 0 auto;color:#c9d3de;font-size:.9rem}
main{padding:1rem 1.5rem;display:grid;gap:1rem;grid-template-columns:repeat(2,minmax(0,1fr))}
.panel.wide{grid-column:1/-1}
@media (max-width:60rem){main{grid-template-columns:minmax(0,1fr)}}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;min-width:0}
.panel h2{font-size:1.1rem;margin:0 0 .75rem}.panel h3{font-size:1rem;margin:1rem 0 .5rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.5rem;margin:0}
.card{border:1px solid var(--line);border-radius:6px;padding:.5rem .75rem}
.card dt{color:var(--muted);font-size:.85rem}.card dd{margin:0;font-size:1.35rem;font-weight:650}
.budget meter,#sftp-usage{width:100%;height:1.1rem}.budget p{margin:.3rem 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:#eef2f6;font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.empty{color:var(--muted);font-style:italic}
td.reason{min-width:16rem;max-width:40rem;overflow-wrap:anywhere}
td code{white-space:nowrap}
code{font:.85rem/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.state.running,.state.completed{color:var(--ok);font-weight:600}.state.paused,.state.in-progress,.state.pending{color:var(--warn);font-weight:600}.state.failed{color:var(--bad);font-weight:600}
.severity.critical{color:var(--bad);font-weight:600}.severity.warning{color:var(--warn);font-weight:600}
.spark{color:var(--accent);display:block}
button{font:inherit;padding:.3rem .75rem;border:1px solid var(--accent);border-radius:4px;background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:transparent;color:#fff;border-color:#c9d3de}
button.danger{background:#fff;color:var(--bad);border-color:var(--bad)}
button:disabled{opacity:.45;cursor:not-allowed}
button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.actions{white-space:nowrap}.actions button+button{margin-left:.35rem}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-bottom:.5rem}
.filters input,.filters select{font:inherit;padding:.3rem .4rem;border:1px solid #9aa6b2;border-radius:4px}
.bulk,.pager{display:flex;gap:.5rem;align-items:center;margin:.5rem 0}
.notice{margin:.5rem 1.5rem 0;min-height:1.2em;color:var(--ok);font-weight:600}.notice.error{color:var(--bad)}
.hint{color:var(--muted);margin-top:0}
.unavailable-note{display:none;color:var(--muted);font-style:italic}
.panel.unavailable{opacity:.6}.panel.unavailable .unavailable-note{display:block}.panel.unavailable .available{display:none}
.steps{margin:.25rem 0;padding-left:1.25rem}
`;
