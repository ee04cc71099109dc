// The admin page's script: polls /clusters every second and updates one table per cluster in
// place (rows keyed by endpoint), computing call rates from the endpoints' call counters and
// announcing state changes to screen readers. Plain browser JavaScript, no build step.

export const PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var POLL_MS = 1000;
  var COLUMNS = ['Endpoint', 'State', 'In flight', 'Calls/s', 'Latency', 'Health', 'Ejection',
    'Calls', 'Failures', 'Connections'];
  var sections = new Map(); // cluster name -> { section, meta, tbody, rows: Map }
  var routesText = '';
  var first = true;

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (attrs) for (var k in attrs) node.setAttribute(k, attrs[k]);
    return node;
  }
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }
  function byId(id) {
    return document.getElementById(id);
  }
  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }
  function ms(value) {
    if (value === undefined || value === null) return '—';
    if (value >= 1000) return (value / 1000).toFixed(2) + ' s';
    return (value < 10 ? value.toFixed(2) : value.toFixed(1)) + ' ms';
  }
  function describeMatch(m) {
    var parts = [];
    if (m.service) parts.push(m.method ? '/' + m.service + '/' + m.method : '/' + m.service + '/*');
    if (m.prefix) parts.push(m.prefix + '*');
    (m.headers || []).forEach(function (h) {
      var test = h.exact !== undefined ? '= ' + h.exact
        : h.prefix !== undefined ? '^= ' + h.prefix
        : h.regex !== undefined ? '~ ' + h.regex
        : h.present === false ? 'absent' : 'present';
      parts.push(h.name + ' ' + test);
    });
    return parts.length ? parts.join(', ') : 'every call';
  }

  function renderRoutes(routes) {
    var text = JSON.stringify(routes);
    if (text === routesText) return;
    routesText = text;
    var tbody = byId('routes').tBodies[0];
    tbody.replaceChildren();
    routes.forEach(function (r) {
      var tr = el('tr');
      tr.append(el('th', r.name, { scope: 'row' }), el('td', describeMatch(r.match)), el('td', r.cluster));
      tbody.append(tr);
    });
  }

  function clusterSection(name) {
    var entry = sections.get(name);
    if (entry) return entry;
    var id = 'cluster-' + sections.size;
    var section = el('section', undefined, { 'aria-labelledby': id, 'data-cluster': name });
    var meta = el('p', '', { class: 'meta' });
    var scroller = el('div', undefined, { class: 'scroll' });
    var table = el('table');
    scroller.append(table);
    table.append(el('caption', 'Endpoints of cluster ' + name, { class: 'visually-hidden' }));
    var head = el('tr');
    COLUMNS.forEach(function (c) { head.append(el('th', c, { scope: 'col' })); });
    var thead = el('thead');
    thead.append(head);
    var tbody = el('tbody');
    table.append(thead, tbody);
    section.append(el('h2', 'Cluster ' + name, { id: id }), meta, scroller);
    entry = { section: section, meta: meta, tbody: tbody, rows: new Map() };
    sections.set(name, entry);
    return entry;
  }

  function endpointRow(entry, key) {
    var row = entry.rows.get(key);
    if (row) return row;
    var tr = el('tr', undefined, { 'data-endpoint': key });
    var cells = [el('th', key, { scope: 'row' })];
    for (var i = 1; i < COLUMNS.length; i++) cells.push(el('td', '', i === 1 || i === 5 || i === 6 ? {} : { class: 'num' }));
    cells.forEach(function (cell) { tr.append(cell); });
    var state = el('strong');
    var reason = el('span', '', { class: 'reason' });
    cells[1].append(state, reason);
    // The last poll's call counter and state, for the call rate and change announcements.
    row = { tr: tr, cells: cells, stateText: state, reason: reason, calls: 0, time: 0, state: undefined };
    entry.rows.set(key, row);
    return row;
  }

  function placeInOrder(parent, nodes) {
    nodes.forEach(function (node, i) {
      if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
    });
    while (parent.children.length > nodes.length) parent.lastElementChild.remove();
  }

  function renderCluster(c, time, changes) {
    var entry = clusterSection(c.name);
    var r = c.resolver;
    var meta = c.target + ' · ' + c.policy + ' · ' + plural(c.endpoints.length, 'endpoint') + ', ' +
      c.eligible + ' taking calls · resolver: ' + plural(r.updates, 'update') + ', ' +
      plural(r.errors, 'error') +
      (r.problem ? ' (' + r.problem + ')' : r.lastError ? ' (last: ' + r.lastError + ')' : '') +
      (c.panic ? ' · PANIC: calls go to every ready endpoint' : '');
    setText(entry.meta, meta);
    entry.meta.classList.toggle('panic', c.panic);
    var keep = new Set();
    var nodes = c.endpoints.map(function (e) {
      keep.add(e.key);
      var row = endpointRow(entry, e.key);
      var rate = '—';
      if (row.state !== undefined && time > row.time && e.calls >= row.calls) {
        rate = ((e.calls - row.calls) / ((time - row.time) / 1000)).toFixed(1);
      }
      if (row.state !== undefined && row.state !== e.state) {
        changes.push(e.key + ' in ' + c.name + ': ' + row.state + ' → ' + e.state);
      }
      row.calls = e.calls;
      row.time = time;
      row.state = e.state;
      var why = e.state === 'failing' ? e.connectivityReason
        : e.state === 'unhealthy' ? e.healthReason : '';
      row.tr.setAttribute('data-state', e.state);
      var cells = row.cells;
      setText(row.stateText, e.state);
      setText(row.reason, why);
      setText(cells[2], String(e.inFlight));
      setText(cells[3], rate);
      setText(cells[4], ms(e.latencyMs));
      setText(cells[5], e.health === 'unchecked' ? 'not checked' : e.health);
      setText(cells[6], e.ejected ? 'ejected, ' + Math.ceil(e.ejectionRemainingMs / 1000) + ' s left'
        : e.ejections > 0 ? e.ejections + ' before' : '—');
      setText(cells[7], String(e.calls));
      setText(cells[8], String(e.failures));
      setText(cells[9], String(e.connections));
      return row.tr;
    });
    entry.rows.forEach(function (_row, k) {
      if (!keep.has(k)) entry.rows.delete(k);
    });
    if (nodes.length === 0) {
      var empty = el('tr');
      empty.append(el('td', r.problem || 'No endpoints yet.', { colspan: String(COLUMNS.length) }));
      nodes.push(empty);
    }
    placeInOrder(entry.tbody, nodes);
    return entry.section;
  }

  function render(view) {
    setText(byId('version'), view.version);
    document.title = 'switchyard ' + view.version;
    var listeners = view.listeners.map(function (l) {
      return l.name + ' ' + (l.address || 'not listening') + ' (' + plural(l.connections, 'connection') + ')';
    });
    setText(byId('summary'), 'Listeners: ' + (listeners.join(', ') || 'none') + ' · calls in flight: ' + view.inFlight);
    renderRoutes(view.routes);
    var changes = [];
    var names = new Set();
    var nodes = view.clusters.map(function (c) {
      names.add(c.name);
      return renderCluster(c, view.time, changes);
    });
    sections.forEach(function (_entry, name) {
      if (!names.has(name)) sections.delete(name);
    });
    placeInOrder(byId('clusters'), nodes);
    if (!first && changes.length > 0) setText(byId('announcer'), changes.join('. '));
    first = false;
  }

  function setStatus(text, error) {
    var status = byId('status');
    setText(status, text);
    status.classList.toggle('error', error);
  }

  var live = false;
  function poll() {
    fetch('clusters', { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (view) {
        render(view);
        if (!live) setStatus('Live: updated every second.', false);
        live = true;
      })
      .catch(function (err) {
        live = false;
        setStatus('Cannot reach switchyard (' + err.message + '); retrying.', true);
      })
      .finally(function () {
        setTimeout(poll, POLL_MS);
      });
  }
  poll();
})();
`;
