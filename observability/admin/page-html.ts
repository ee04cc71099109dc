// The admin page's markup: a shell the script fills from /clusters every second.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>switchyard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="admin.css">
<script src="admin.js" defer></script>
</head>
<body>
<header>
  <h1>switchyard <span id="version"></span></h1>
  <p id="summary"></p>
  <p id="status" role="status">Loading…</p>
</header>
<main>
  <section aria-labelledby="routes-title">
    <h2 id="routes-title">Routes</h2>
    <table id="routes">
      <caption class="visually-hidden">Routes, tried in order: the first match picks the cluster</caption>
      <thead><tr><th scope="col">Route</th><th scope="col">Match</th><th scope="col">Cluster</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <div id="clusters"></div>
</main>
<div id="announcer" class="visually-hidden" aria-live="polite" aria-atomic="true"></div>
<footer>
  <a href="metrics">/metrics</a> · <a href="clusters">/clusters</a> · <a href="config">/config</a> ·
  <a href="ready">/ready</a>
</footer>
</body>
</html>
`;
