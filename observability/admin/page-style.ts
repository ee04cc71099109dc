// The admin page's stylesheet: one table per cluster, rows coloured by endpoint state (the
// state is also written out, so colour is never the only sign).

export const PAGE_STYLE = `:root {
  color-scheme: light dark;
  --fg: #1d2330; --muted: #5c6578; --bg: #f7f8fa; --card: #fff; --line: #dde1e8;
  --ready: #e3f6e8; --ready-mark: #1f8a3b;
  --checking: #e6effc; --checking-mark: #2d62c4;
  --connecting: #fff5d6; --connecting-mark: #a86f00;
  --failing: #fde4e4; --failing-mark: #c42b2b;
  --unhealthy: #ffe9d6; --unhealthy-mark: #c25400;
  --ejected: #eee6f8; --ejected-mark: #6d3fb0;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6e9ef; --muted: #a3abbb; --bg: #14171c; --card: #1c2027; --line: #323843;
    --ready: #173323; --checking: #1a2a44; --connecting: #3a3016; --failing: #451e1e;
    --unhealthy: #43291a; --ejected: #2f2340;
    --ready-mark: #5fd47f; --checking-mark: #7aa7f0; --connecting-mark: #e6b84a;
    --failing-mark: #f27b7b; --unhealthy-mark: #f29a57; --ejected-mark: #b58cf0;
  }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem 1.5rem 2rem; font: 14px/1.45 system-ui, sans-serif;
  color: var(--fg); background: var(--bg); }
h1 { font-size: 1.4rem; margin: 0 0 0.25rem; }
h1 span { font-size: 0.9rem; font-weight: normal; color: var(--muted); }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.25rem; }
p { margin: 0.2rem 0; }
#summary, .meta, footer { color: var(--muted); }
#status.error { color: var(--failing-mark); font-weight: 600; }
table { border-collapse: collapse; width: 100%; background: var(--card);
  border: 1px solid var(--line); margin-top: 0.4rem; }
th, td { padding: 0.3rem 0.6rem; text-align: left; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
thead th { font-weight: 600; font-size: 0.85rem; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody th { font-weight: normal; font-family: ui-monospace, monospace; }
code { font-family: ui-monospace, monospace; }
tr[data-state] > :first-child { border-left: 4px solid transparent; }
tr[data-state="ready"] { background: var(--ready); }
tr[data-state="ready"] > :first-child { border-left-color: var(--ready-mark); }
tr[data-state="checking"] { background: var(--checking); }
tr[data-state="checking"] > :first-child { border-left-color: var(--checking-mark); }
tr[data-state="idle"], tr[data-state="connecting"] { background: var(--connecting); }
tr[data-state="idle"] > :first-child, tr[data-state="connecting"] > :first-child {
  border-left-color: var(--connecting-mark); }
tr[data-state="failing"] { background: var(--failing); }
tr[data-state="failing"] > :first-child { border-left-color: var(--failing-mark); }
tr[data-state="unhealthy"] { background: var(--unhealthy); }
tr[data-state="unhealthy"] > :first-child { border-left-color: var(--unhealthy-mark); }
tr[data-state="ejected"] { background: var(--ejected); }
tr[data-state="ejected"] > :first-child { border-left-color: var(--ejected-mark); }
.reason { display: block; max-width: 48ch; white-space: normal; font-size: 0.85em;
  color: var(--muted); }
.scroll { overflow-x: auto; }
.panic { color: var(--failing-mark); font-weight: 600; }
footer { margin-top: 2rem; }
a { color: inherit; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
`;
