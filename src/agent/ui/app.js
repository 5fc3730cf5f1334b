// ctmpl agent web UI: plain JavaScript, no build step, no dependencies.
//
// Views (Services, Nodes, Key/Value; Templates under `ctmpl -dev`) picked by the URL hash.
// Each visible view keeps blocking queries open against the agent (a long-poll loop per
// watched endpoint) and re-renders when the X-Consul-Index of an answer changes. Data from the agent reaches the
// DOM only as text (textContent, attribute values): never as markup.
'use strict';

(function () {
  // ---------------------------------------------------------------------------------------
  // DOM helpers: el() builds elements; strings and numbers become text nodes.

  /** el('td', {class: 'mono', 'data-x': v}, 'text', child) → element. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else if (value === true) node.setAttribute(name, '');
      else node.setAttribute(name, String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  const $ = (id) => document.getElementById(id);

  function plural(n, word, many) {
    return `${n} ${n === 1 ? word : many || word + 's'}`;
  }

  // ---------------------------------------------------------------------------------------
  // Health states: ordering, colours (CSS classes) and the badge that shows them.

  const STATES = ['passing', 'warning', 'critical'];

  /** The worst of a list of statuses; no checks at all counts as passing, as in Consul. */
  function worst(statuses) {
    let rank = 0;
    for (const s of statuses) rank = Math.max(rank, Math.max(0, STATES.indexOf(s)));
    return STATES[rank];
  }

  function badge(status, label) {
    const known = STATES.includes(status) ? status : 'unknown';
    return el('span', {class: `badge badge-${known}`, 'data-status': status},
      el('span', {class: 'badge-dot', 'aria-hidden': 'true'}), label || status);
  }

  function tagList(tags) {
    if (!tags || tags.length === 0) return el('span', {class: 'muted'}, '—');
    return el('ul', {class: 'tags', 'aria-label': 'Tags'}, tags.map((t) => el('li', {class: 'tag'}, t)));
  }

  /** "3 passing · 1 critical" as badges, for a summary line; no badge for a count of 0. */
  function stateCounts(statuses) {
    const counts = {passing: 0, warning: 0, critical: 0};
    for (const s of statuses) counts[worst([s])] += 1;
    return STATES.filter((s) => counts[s] > 0).map((s) => badge(s, `${counts[s]} ${s}`));
  }

  /** What a view shows until its first answers arrive: no counts, no colours. */
  function loading(what) {
    return el('p', {class: 'loading', 'data-loading': 'true', role: 'status'},
      el('span', {class: 'spinner', 'aria-hidden': 'true'}), `Loading ${what}…`);
  }

  // ---------------------------------------------------------------------------------------
  // Connection indicator: every long-poll loop reports here; one failing loop shows it.

  const connection = {
    failing: new Map(), // watch id → seconds until its next try
    answered: false, // true once any request got an answer
    fail(id, retryIn) {
      this.failing.set(id, retryIn);
      this.show();
    },
    recovered(id) {
      this.answered = true;
      this.failing.delete(id);
      this.show();
    },
    show() {
      const box = $('connection');
      if (this.failing.size === 0 && !this.answered) {
        box.dataset.state = 'connecting';
        $('connection-text').textContent = 'Connecting…';
      } else if (this.failing.size === 0) {
        box.dataset.state = 'live';
        $('connection-text').textContent = 'Live';
        box.title = 'Updates arrive through blocking queries';
      } else {
        const retry = Math.min(...this.failing.values());
        box.dataset.state = 'error';
        $('connection-text').textContent = `Reconnecting (retry in ${retry}s)`;
        box.title = 'The agent did not answer; retrying with back-off';
      }
    },
  };

  // ---------------------------------------------------------------------------------------
  // HTTP: requests to the agent's API.

  class HttpError extends Error {
    constructor(status, body) {
      super(`HTTP ${status}${body ? ': ' + body.trim() : ''}`);
      this.status = status;
    }
  }

  /** The index an answer carries (X-Consul-Index), 0 when absent or malformed. */
  function indexOf(response) {
    const n = Number(response.headers.get('X-Consul-Index'));
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  /** GET returning {data, index}; a 404 is data null (Consul's answer for a missing key). */
  async function getJSON(path, signal) {
    const response = await fetch(path, {signal, cache: 'no-store'});
    if (response.status === 404) return {data: null, index: indexOf(response)};
    if (!response.ok) throw new HttpError(response.status, await response.text());
    return {data: await response.json(), index: indexOf(response)};
  }

  /** PUT or DELETE; returns the parsed JSON answer (true/false for KV writes). */
  async function send(method, path, body) {
    const response = await fetch(path, {method, body, cache: 'no-store'});
    const text = await response.text();
    if (!response.ok) throw new HttpError(response.status, text);
    return text ? JSON.parse(text) : null;
  }

  const sleep = (ms, signal) => new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, {once: true});
  });

  // ---------------------------------------------------------------------------------------
  // Blocking queries: a Watch long-polls one endpoint and calls onChange(data, index)
  // whenever X-Consul-Index moves. Consul's client rules: start at index 0 (no blocking),
  // then pass the last index back with wait=60s; an index that goes backwards resets to 0;
  // errors back off exponentially (1 s … 30 s); loops are rate-limited to 4 requests/s.

  const WAIT = '60s';
  const REQUEST_TIMEOUT_MS = 70000; // longer than wait + Consul's wait/16 jitter
  const MIN_INTERVAL_MS = 250;
  const MAX_BACKOFF_MS = 30000;
  let watchIds = 0;

  class Watch {
    constructor(path, onChange) {
      this.id = ++watchIds;
      this.path = path;
      this.onChange = onChange;
      this.stopper = new AbortController();
    }

    start() {
      this.loop();
      return this;
    }

    stop() {
      this.stopper.abort();
      connection.failing.delete(this.id);
      connection.show();
    }

    url(index) {
      if (index === 0) return this.path;
      const sep = this.path.includes('?') ? '&' : '?';
      return `${this.path}${sep}index=${index}&wait=${WAIT}`;
    }

    /** One request, aborted by stop() or after REQUEST_TIMEOUT_MS. */
    async fetchOnce(index) {
      const request = new AbortController();
      const abort = () => request.abort();
      this.stopper.signal.addEventListener('abort', abort, {once: true});
      const timer = setTimeout(abort, REQUEST_TIMEOUT_MS);
      try {
        return await getJSON(this.url(index), request.signal);
      } finally {
        clearTimeout(timer);
        this.stopper.signal.removeEventListener('abort', abort);
      }
    }

    async loop() {
      const signal = this.stopper.signal;
      let index = 0;
      let failures = 0;
      while (!signal.aborted) {
        const started = Date.now();
        try {
          const answer = await this.fetchOnce(index);
          if (signal.aborted) return;
          failures = 0;
          connection.recovered(this.id);
          if (answer.index < index) {
            index = 0; // went backwards (restore, new cluster): refetch without blocking
            continue;
          }
          if (index === 0 || answer.index !== index) {
            index = Math.max(answer.index, 1);
            this.onChange(answer.data, index);
          }
        } catch (err) {
          if (signal.aborted) return;
          failures += 1;
          const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
          connection.fail(this.id, Math.round(delay / 1000));
          console.warn(`ctmpl ui: ${this.path}: ${err.message}; retrying in ${delay} ms`);
          await sleep(delay * (0.75 + Math.random() / 2), signal);
          continue;
        }
        const elapsed = Date.now() - started;
        if (elapsed < MIN_INTERVAL_MS) await sleep(MIN_INTERVAL_MS - elapsed, signal);
      }
    }
  }

  /** Runs task() now, or once more right after the run in progress: never two at a time. */
  function coalesced(task) {
    let running = false;
    let again = false;
    return async function run() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          await task();
        } while (again);
      } finally {
        running = false;
      }
    };
  }

  /** Maps items through an async fn with at most `limit` in flight (browsers allow 6). */
  async function mapLimited(items, limit, fn) {
    const out = new Array(items.length);
    let next = 0;
    async function worker() {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }
    await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // Toasts: short confirmations and errors, announced to screen readers.

  let toastTimer = 0;
  function toast(message, kind) {
    const box = $('toast');
    box.textContent = message;
    box.dataset.kind = kind || 'info';
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      box.hidden = true;
    }, 4000);
  }

  // ---------------------------------------------------------------------------------------
  // Checks shared by the Services and Nodes views: rendering one list of checks.

  /**
   * A list of checks, service checks first. With compactNode, node-level checks (Serf and
   * the like, repeated on every instance of a node) show their output only when not passing.
   */
  function checkList(checks, compactNode) {
    if (checks.length === 0) return el('span', {class: 'muted'}, 'No checks');
    const rank = (c) => (c.ServiceID ? 0 : 1);
    const sorted = [...checks].sort((a, b) => rank(a) - rank(b) || a.CheckID.localeCompare(b.CheckID));
    return el('ul', {class: 'checks'}, sorted.map((c) => {
      const nodeLevel = !c.ServiceID;
      const showOutput = c.Output && !(compactNode && nodeLevel && c.Status === 'passing');
      return el('li', {class: `check${nodeLevel ? ' check-node' : ''}`, 'data-check': c.CheckID,
        'data-status': c.Status},
      el('div', {class: 'check-line'},
        badge(c.Status),
        el('span', {class: 'check-name'}, c.Name || c.CheckID),
        el('span', {class: 'check-type'}, nodeLevel ? 'node' : c.Type || '')),
      showOutput ? el('pre', {class: 'check-output'}, c.Output) : null);
    }));
  }

  /** Filters cards by the text of a search box (matched against a lowercase haystack). */
  function matches(filter, ...fields) {
    const q = filter.trim().toLowerCase();
    if (!q) return true;
    return fields.flat().some((f) => String(f || '').toLowerCase().includes(q));
  }

  // ---------------------------------------------------------------------------------------
  // Services view. Two watches: /v1/catalog/services (the service table: names, and any
  // instance registered, changed or removed) and /v1/health/state/any (every check). A
  // change of services refetches each service's instances (/v1/health/service/:name, at
  // most 3 at a time); a change of checks only re-renders, so check updates cost one request.

  const services = {
    names: null, // {name: [tags]}
    instances: new Map(), // name → {entries: [...], index}
    checks: null, // every check in the catalog
    checksIndex: 0,
    watches: [],

    start() {
      this.render();
      this.watches = [
        new Watch('/v1/catalog/services', (names) => {
          this.names = names || {};
          this.render(); // the names at once; a new service's card loads its instances
          this.refresh();
        }).start(),
        new Watch('/v1/health/state/any', (checks, index) => {
          this.checks = checks || [];
          this.checksIndex = index;
          this.render();
        }).start(),
      ];
    },

    stop() {
      this.watches.forEach((w) => w.stop());
      this.watches = [];
    },

    refresh: null, // set below: coalesced fetch of every service's instances

    async fetchInstances() {
      const names = Object.keys(this.names || {});
      const results = await mapLimited(names, 3, async (name) => {
        try {
          const answer = await getJSON(`/v1/health/service/${encodeURIComponent(name)}`);
          return [name, {entries: answer.data || [], index: answer.index}];
        } catch (err) {
          console.warn(`ctmpl ui: instances of ${name}: ${err.message}`);
          // What was shown before, else nothing: an instance list never known stays loading.
          return [name, this.instances.get(name) || null, true];
        }
      });
      this.instances = new Map(results.filter(([, r]) => r !== null).map(([n, r]) => [n, r]));
      this.render();
      if (results.some(([, , failed]) => failed)) setTimeout(() => this.refresh(), 3000);
    },

    /**
     * The checks of one instance: from the live check list when it is at least as recent as
     * the instance's answer (the per-service index covers its checks), else from that answer.
     */
    checksFor(entry, serviceIndex) {
      if (this.checks === null || this.checksIndex < serviceIndex) return entry.Checks || [];
      return this.checks.filter((c) => c.Node === entry.Node.Node &&
        (c.ServiceID === '' || c.ServiceID === entry.Service.ID));
    },

    render() {
      if (this.names === null) {
        $('services-summary').replaceChildren(loading('services'));
        $('services-list').replaceChildren();
        return;
      }
      const filter = $('services-filter').value;
      const rows = Object.keys(this.names).sort().map((name) => {
        const result = this.instances.get(name);
        // Not answered yet: the card says it is loading instead of "0 of 0".
        if (!result) return {name, tags: this.names[name] || [], instances: null};
        const instances = result.entries.map((entry) => {
          const checks = this.checksFor(entry, result.index);
          return {entry, checks, status: worst(checks.map((c) => c.Status))};
        });
        return {name, tags: this.names[name] || [], instances};
      });
      const all = rows.flatMap((r) => r.instances || []);
      const pending = rows.some((r) => r.instances === null);
      $('services-summary').replaceChildren(
        el('span', {}, plural(rows.length, 'service'), ' · ',
          pending ? 'loading instances…' : plural(all.length, 'instance')),
        ...(pending ? [] : stateCounts(all.map((i) => i.status))));
      const visible = rows.filter((r) => matches(filter, r.name, r.tags,
        (r.instances || []).map((i) => i.entry.Node.Node)));
      const list = $('services-list');
      if (visible.length === 0) {
        list.replaceChildren(el('p', {class: 'empty'},
          rows.length ? 'No service matches the filter.' : 'No services registered.'));
        return;
      }
      list.replaceChildren(...visible.map((r) => this.card(r)));
    },

    card({name, tags, instances}) {
      const headingId = `service-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      if (instances === null) {
        return el('article', {class: 'card service', 'data-service': name,
          'data-status': 'loading', 'aria-labelledby': headingId, 'aria-busy': 'true'},
        el('header', {class: 'card-head'},
          el('h2', {id: headingId, class: 'card-title'}, name),
          badge('loading', 'loading'),
          el('div', {class: 'card-tags'}, tags.length ? tagList(tags) : null)),
        loading('instances'));
      }
      const status = instances.length ? worst(instances.map((i) => i.status)) : 'unknown';
      const passing = instances.filter((i) => i.status === 'passing').length;
      return el('article', {class: 'card service', 'data-service': name,
        'data-status': status, 'aria-labelledby': headingId},
      el('header', {class: 'card-head'},
        el('h2', {id: headingId, class: 'card-title'}, name),
        badge(status, instances.length ? status : 'no instances'),
        instances.length ?
          el('span', {class: 'muted'}, `${passing} of ${plural(instances.length, 'instance')} passing`) :
          null,
        el('div', {class: 'card-tags'}, tags.length ? tagList(tags) : null)),
      instances.length === 0 ? el('p', {class: 'empty'}, 'No instance registered.') :
        el('table', {class: 'table instances'},
          el('thead', {}, el('tr', {},
            el('th', {scope: 'col'}, 'Node'),
            el('th', {scope: 'col'}, 'ID'),
            el('th', {scope: 'col'}, 'Address'),
            el('th', {scope: 'col'}, 'Tags'),
            el('th', {scope: 'col', class: 'col-health'}, 'Health checks'))),
          el('tbody', {}, instances.map((i) => this.row(i)))));
    },

    row({entry, checks, status}) {
      const svc = entry.Service;
      const address = `${svc.Address || entry.Node.Address}:${svc.Port || 0}`;
      return el('tr', {'data-instance': `${entry.Node.Node}/${svc.ID}`, 'data-status': status},
        el('th', {scope: 'row'}, el('a', {href: '#/nodes', class: 'node-link'}, entry.Node.Node)),
        el('td', {class: 'mono'}, svc.ID),
        el('td', {class: 'mono'}, address),
        el('td', {}, tagList(svc.Tags)),
        el('td', {}, checkList(checks, true)));
    },
  };
  services.refresh = coalesced(() => services.fetchInstances());

  // ---------------------------------------------------------------------------------------
  // Nodes view: /v1/catalog/nodes and /v1/health/state/any, each node with all its checks.

  const nodes = {
    list: null,
    checks: null,
    watches: [],

    start() {
      this.render();
      this.watches = [
        new Watch('/v1/catalog/nodes', (list) => {
          this.list = list || [];
          this.render();
        }).start(),
        new Watch('/v1/health/state/any', (checks) => {
          this.checks = checks || [];
          this.render();
        }).start(),
      ];
    },

    stop() {
      this.watches.forEach((w) => w.stop());
      this.watches = [];
    },

    render() {
      if (this.list === null || this.checks === null) {
        $('nodes-summary').replaceChildren(loading('nodes'));
        $('nodes-list').replaceChildren();
        return;
      }
      const filter = $('nodes-filter').value;
      const rows = [...this.list].sort((a, b) => a.Node.localeCompare(b.Node)).map((node) => {
        const checks = this.checks.filter((c) => c.Node === node.Node);
        // A node's health is its node-level checks only (no ServiceID), as in Consul: a
        // failing service check is the service's problem, not the node's.
        const nodeChecks = checks.filter((c) => !c.ServiceID);
        const serviceChecks = checks.filter((c) => c.ServiceID);
        return {node, checks, status: worst(nodeChecks.map((c) => c.Status)),
          services: serviceChecks.length ? worst(serviceChecks.map((c) => c.Status)) : null};
      });
      $('nodes-summary').replaceChildren(
        el('span', {}, plural(rows.length, 'node')), ...stateCounts(rows.map((r) => r.status)));
      const visible = rows.filter((r) => matches(filter, r.node.Node, r.node.Address));
      $('nodes-list').replaceChildren(...(visible.length ? visible.map((r) => this.card(r)) :
        [el('p', {class: 'empty'}, rows.length ? 'No node matches the filter.' : 'No nodes.')]));
    },

    /** Node checks first, then service checks, each by ID. */
    sorted(checks) {
      const rank = (c) => (c.ServiceID ? 1 : 0);
      return [...checks].sort((a, b) => rank(a) - rank(b) || a.CheckID.localeCompare(b.CheckID));
    },

    card({node, checks, status, services}) {
      const serviceNames = [...new Set(checks.map((c) => c.ServiceName).filter(Boolean))].sort();
      return el('article', {class: 'card node', 'data-node': node.Node, 'data-status': status},
        el('header', {class: 'card-head'},
          el('h2', {class: 'card-title'}, node.Node),
          badge(status, `node ${status}`),
          services && services !== 'passing' ?
            el('span', {class: `service-health service-health-${services}`,
              'data-service-status': services}, `a service check is ${services}`) : null,
          el('span', {class: 'mono muted'}, node.Address),
          el('span', {class: 'muted'}, node.Datacenter)),
        el('table', {class: 'table node-checks'},
          el('thead', {}, el('tr', {},
            el('th', {scope: 'col'}, 'Check'),
            el('th', {scope: 'col'}, 'Service'),
            el('th', {scope: 'col'}, 'Status'),
            el('th', {scope: 'col'}, 'Output'))),
          el('tbody', {}, checks.length === 0 ?
            el('tr', {}, el('td', {colspan: 4, class: 'muted'}, 'No checks')) :
            this.sorted(checks).map((c) => el('tr', {'data-check': c.CheckID, 'data-status': c.Status},
              el('th', {scope: 'row'}, c.Name || c.CheckID,
                el('div', {class: 'mono muted small'}, c.CheckID, c.Type ? ` · ${c.Type}` : '')),
              el('td', {}, c.ServiceName || el('span', {class: 'muted'}, 'node check')),
              el('td', {}, badge(c.Status)),
              el('td', {}, c.Output ? el('pre', {class: 'check-output'}, c.Output) :
                el('span', {class: 'muted'}, '—')))))),
        serviceNames.length ?
          el('p', {class: 'meta'}, 'Services checked here: ', serviceNames.join(', ')) : null);
    },
  };

  // ---------------------------------------------------------------------------------------
  // KV paths: keys travel in the URL hash and in API paths, one encoded segment at a time.

  const encodeKey = (key) => key.split('/').map(encodeURIComponent).join('/');
  const decodeKey = (text) => text.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch (_) {
      return s;
    }
  }).join('/');
  const kvHref = (key) => `#/kv/${encodeKey(key)}`;
  const folderOf = (key) => key.slice(0, key.lastIndexOf('/') + 1);

  /** Decodes a base64 KV value: {text} for UTF-8, {base64} for anything else. */
  function decodeValue(b64) {
    if (!b64) return {text: ''};
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    try {
      return {text: new TextDecoder('utf-8', {fatal: true}).decode(bytes), size: bytes.length};
    } catch (_) {
      return {base64: b64, size: bytes.length};
    }
  }

  // ---------------------------------------------------------------------------------------
  // Key/Value view: the folder listing (?keys&separator=/, blocking on the prefix) and the
  // selected key (blocking on the key). The editor never overwrites what the user is typing:
  // a change on the server shows a notice instead, and saves use ?cas= to detect conflicts.

  const kv = {
    folder: null, // '' for the root, else ends with '/'
    key: null, // the selected key, or null
    creating: false,
    entry: null, // the DirEntry being edited
    latest: null, // a newer DirEntry that arrived while the user was editing
    dirty: false,
    listWatch: null,
    keyWatch: null,

    start(path) {
      this.show(path);
    },

    stop() {
      this.listWatch?.stop();
      this.keyWatch?.stop();
      this.listWatch = this.keyWatch = null;
      this.folder = this.key = null;
      this.creating = false;
    },

    /** Route #/kv/<path>: a folder when it ends with '/', else a key inside its folder. */
    show(path) {
      const folder = path.endsWith('/') || path === '' ? path : folderOf(path);
      const key = path.endsWith('/') || path === '' ? null : path;
      if (folder !== this.folder) {
        this.folder = folder;
        this.creating = false;
        this.listWatch?.stop();
        this.listWatch = new Watch(`/v1/kv/${encodeKey(folder)}?keys&separator=/`,
          (keys) => this.renderList(keys || [])).start();
        this.renderBreadcrumbs();
      }
      if (key !== this.key || (key === null && !this.creating)) {
        this.key = key;
        this.keyWatch?.stop();
        this.keyWatch = null;
        this.creating = false;
        if (key === null) this.closeEditor();
        else this.openKey(key);
      }
    },

    renderBreadcrumbs() {
      const parts = this.folder.split('/').filter(Boolean);
      const crumbs = [el('a', {href: '#/kv/'}, 'All keys')];
      parts.forEach((part, i) => {
        const prefix = parts.slice(0, i + 1).join('/') + '/';
        crumbs.push(el('span', {class: 'crumb-sep', 'aria-hidden': 'true'}, '/'));
        crumbs.push(i === parts.length - 1 ?
          el('span', {'aria-current': 'page'}, part) : el('a', {href: kvHref(prefix)}, part));
      });
      if (parts.length) {
        crumbs.push(el('button', {type: 'button', class: 'button small danger crumb-action',
          onclick: () => this.deleteFolder()}, 'Delete folder'));
      }
      $('kv-breadcrumbs').replaceChildren(...crumbs);
    },

    renderList(keys) {
      const names = keys.filter((k) => k !== this.folder).sort((a, b) => {
        const fa = a.endsWith('/');
        const fb = b.endsWith('/');
        return fa === fb ? a.localeCompare(b) : fa ? -1 : 1;
      });
      const folders = names.filter((k) => k.endsWith('/')).length;
      $('kv-summary').textContent =
        `${plural(folders, 'folder')} · ${plural(names.length - folders, 'key')} in ` +
        (this.folder ? this.folder : 'the root');
      $('kv-empty').hidden = names.length > 0;
      $('kv-entries').replaceChildren(...names.map((k) => {
        const isFolder = k.endsWith('/');
        const label = k.slice(this.folder.length);
        return el('tr', {'data-key': k, 'aria-current': k === this.key ? 'true' : null},
          el('td', {},
            el('a', {href: kvHref(k), class: `kv-link ${isFolder ? 'is-folder' : 'is-key'}`},
              el('span', {class: 'kv-icon', 'aria-hidden': 'true'}), label)),
          el('td', {class: 'muted'}, isFolder ? 'Folder' : 'Key'));
      }));
    },

    /** Opens the editor on an existing key and keeps it current through a blocking query. */
    openKey(key) {
      this.entry = null;
      this.dirty = false;
      this.showEditor({title: key, key, value: '', readonlyKey: true});
      $('kv-meta').textContent = 'Loading…';
      this.keyWatch = new Watch(`/v1/kv/${encodeKey(key)}`, (entries) => {
        const entry = entries && entries[0];
        if (!entry) {
          if (this.entry) toast(`${key} was deleted`, 'error');
          else toast(`No key ${key}`, 'error');
          location.hash = kvHref(this.folder);
          return;
        }
        if (this.dirty && this.entry && entry.ModifyIndex !== this.entry.ModifyIndex) {
          this.notice('This key changed on the server while you were editing.', 'Load latest',
            () => this.loadEntry(this.latest));
          this.latest = entry;
          return;
        }
        this.loadEntry(entry);
      }).start();
      this.renderSelection();
    },

    loadEntry(entry) {
      this.entry = entry;
      this.dirty = false;
      this.notice(null);
      const value = decodeValue(entry.Value);
      const textarea = $('kv-value');
      textarea.value = value.text !== undefined ? value.text : value.base64;
      textarea.readOnly = value.text === undefined;
      if (value.text === undefined) this.notice(`Binary value (${value.size} bytes), shown as base64.`);
      $('kv-save').disabled = value.text === undefined;
      $('kv-meta').textContent = `Flags ${entry.Flags} · created at index ${entry.CreateIndex}` +
        ` · modified at index ${entry.ModifyIndex}` + (entry.Session ? ` · locked by ${entry.Session}` : '');
    },

    /** The editor in "new key" mode, the key prefilled with the current folder. */
    openCreate() {
      if (location.hash !== kvHref(this.folder)) location.hash = kvHref(this.folder);
      this.keyWatch?.stop();
      this.keyWatch = null;
      this.key = null;
      this.creating = true;
      this.entry = null;
      this.dirty = false;
      this.showEditor({title: 'New key', key: this.folder, value: '', readonlyKey: false});
      $('kv-meta').textContent = 'End the key with / to create a folder.';
      $('kv-key').focus();
      this.renderSelection();
    },

    showEditor({title, key, value, readonlyKey}) {
      $('kv-editor').hidden = false;
      $('kv-editor-title').textContent = title;
      $('kv-key').value = key;
      $('kv-key').readOnly = readonlyKey;
      $('kv-value').value = value;
      $('kv-value').readOnly = false;
      $('kv-save').disabled = false;
      $('kv-save').textContent = this.creating ? 'Create' : 'Save';
      $('kv-delete').hidden = this.creating;
      this.notice(null);
    },

    closeEditor() {
      $('kv-editor').hidden = true;
      this.entry = null;
      this.creating = false;
      this.renderSelection();
    },

    renderSelection() {
      for (const row of $('kv-entries').rows) {
        if (row.dataset.key === this.key) row.setAttribute('aria-current', 'true');
        else row.removeAttribute('aria-current');
      }
    },

    /** A message above the editor, with an optional action button; null hides it. */
    notice(message, actionLabel, action) {
      const box = $('kv-notice');
      box.hidden = !message;
      box.replaceChildren();
      if (!message) return;
      append(box, [message]);
      if (actionLabel) {
        box.append(' ', el('button', {type: 'button', class: 'button small', onclick: action}, actionLabel));
      }
    },

    /** Save: create with cas=0 (never overwrite), update with cas=<ModifyIndex>. */
    async save() {
      const key = $('kv-key').value.trim();
      if (!key || key.startsWith('/')) {
        this.notice('A key needs a name and may not start with "/".');
        $('kv-key').focus();
        return;
      }
      const cas = this.creating ? 0 : this.entry ? this.entry.ModifyIndex : 0;
      const value = key.endsWith('/') ? '' : $('kv-value').value;
      const wasDirty = this.dirty;
      this.dirty = false; // our own write will come back through the key's watch
      try {
        const ok = await send('PUT', `/v1/kv/${encodeKey(key)}?cas=${cas}`, value);
        if (!ok) {
          this.dirty = wasDirty;
          this.notice(this.creating ? `${key} already exists.` :
            'Not saved: the key changed on the server since you loaded it.',
          this.creating ? null : 'Load latest', () => this.reload());
          return;
        }
        toast(`Saved ${key}`);
        if (this.creating) {
          this.closeEditor();
          location.hash = kvHref(key);
        }
      } catch (err) {
        this.dirty = wasDirty;
        this.notice(`Not saved: ${err.message}`);
      }
    },

    async reload() {
      const answer = await getJSON(`/v1/kv/${encodeKey(this.key)}`);
      if (answer.data) this.loadEntry(answer.data[0]);
    },

    async deleteKey() {
      const key = this.key;
      if (!key || !window.confirm(`Delete the key "${key}"?`)) return;
      try {
        await send('DELETE', `/v1/kv/${encodeKey(key)}`);
        this.entry = null; // so the key watch does not report it as deleted elsewhere
        this.keyWatch?.stop();
        toast(`Deleted ${key}`);
        location.hash = kvHref(this.folder);
      } catch (err) {
        this.notice(`Not deleted: ${err.message}`);
      }
    },

    async deleteFolder() {
      const folder = this.folder;
      if (!folder || !window.confirm(`Delete the folder "${folder}" and every key in it?`)) return;
      try {
        await send('DELETE', `/v1/kv/${encodeKey(folder)}?recurse`);
        toast(`Deleted ${folder}`);
        location.hash = kvHref(folderOf(folder.slice(0, -1)));
      } catch (err) {
        toast(`Not deleted: ${err.message}`, 'error');
      }
    },

    /** Form controls, wired once. */
    bind() {
      $('kv-new').addEventListener('click', () => this.openCreate());
      $('kv-editor').addEventListener('submit', (e) => {
        e.preventDefault();
        this.save();
      });
      $('kv-value').addEventListener('input', () => {
        this.dirty = true;
      });
      $('kv-cancel').addEventListener('click', () => {
        if (this.creating) this.closeEditor();
        else location.hash = kvHref(this.folder);
      });
      $('kv-delete').addEventListener('click', () => this.deleteKey());
    },
  };

  // ---------------------------------------------------------------------------------------
  // Templates view (ctmpl -dev): /v1/ctmpl/templates, the runner's status as of its last
  // pass. It is a snapshot without an index, so the view polls it once a second while shown.

  const TEMPLATES_POLL_MS = 1000;

  const templates = {
    status: null, // {templates: [...]}, null until the first answer
    absent: false, // the agent runs no templates (not under ctmpl -dev)
    stopper: null,

    start() {
      this.render();
      this.stopper = new AbortController();
      this.poll(this.stopper.signal);
    },

    stop() {
      if (this.stopper) this.stopper.abort();
      this.stopper = null;
    },

    async poll(signal) {
      while (!signal.aborted) {
        try {
          const {data} = await getJSON('/v1/ctmpl/templates', signal);
          if (signal.aborted) return;
          this.absent = data === null;
          this.status = data || {templates: []};
          connection.recovered('templates');
          this.render();
        } catch (err) {
          if (signal.aborted) return;
          connection.fail('templates', 1);
          console.warn(`ctmpl ui: templates: ${err.message}`);
        }
        await sleep(TEMPLATES_POLL_MS, signal);
      }
      connection.failing.delete('templates');
      connection.show();
    },

    render() {
      if (this.status === null) {
        $('templates-summary').replaceChildren(loading('templates'));
        $('templates-list').replaceChildren();
        return;
      }
      if (this.absent) {
        $('templates-summary').replaceChildren();
        $('templates-list').replaceChildren(el('p', {class: 'empty'},
          'This agent renders no templates: the Templates view is for ctmpl -dev.'));
        return;
      }
      const list = this.status.templates || [];
      const waiting = list.filter((t) => !t.rendered).length;
      $('templates-summary').replaceChildren(
        el('span', {}, plural(list.length, 'template')),
        ...(list.length - waiting ? [badge('passing', `${list.length - waiting} rendered`)] : []),
        ...(waiting ? [badge('warning', `${waiting} waiting`)] : []));
      $('templates-list').replaceChildren(...(list.length ? list.map((t) => this.card(t)) :
        [el('p', {class: 'empty'}, 'No templates.')]));
    },

    card(t) {
      const state = t.rendered ? 'rendered' : 'waiting';
      const missing = new Set(t.missing || []);
      const when = t.last_render ? new Date(t.last_render * 1000).toLocaleString() : 'never';
      const took = t.last_render_duration != null ?
        ` in ${(t.last_render_duration * 1000).toFixed(1)} ms` : '';
      return el('article', {class: 'card template', 'data-template': t.name, 'data-state': state},
        el('header', {class: 'card-head'},
          el('h2', {class: 'card-title mono'}, t.name),
          badge(t.rendered ? 'passing' : 'warning', state),
          el('span', {class: 'muted'}, '→ ', el('span', {class: 'mono'}, t.destination || '(stdout)'))),
        el('p', {class: 'meta template-render'}, `Last render: ${when}${took} · `,
          plural(t.renders || 0, 'render'), ' · ', plural(t.command_runs || 0, 'command run'),
          t.command_failures ? ` (${t.command_failures} failed)` : ''),
        missing.size ? el('p', {class: 'template-waiting'}, 'Waiting for ',
          [...missing].map((d, i) => [i ? ', ' : '', el('code', {}, d)])) : null,
        el('table', {class: 'table template-deps'},
          el('thead', {}, el('tr', {},
            el('th', {scope: 'col'}, 'Dependency'),
            el('th', {scope: 'col'}, 'Data'))),
          el('tbody', {}, (t.dependencies || []).length === 0 ?
            el('tr', {}, el('td', {colspan: 2, class: 'muted'}, 'No dependencies')) :
            t.dependencies.map((d) => el('tr', {'data-dependency': d,
              'data-missing': String(missing.has(d))},
            el('td', {class: 'mono'}, d),
            el('td', {}, missing.has(d) ? badge('warning', 'waiting') : badge('passing', 'received')))))));
    },
  };

  /** Shows the Templates tab when the agent runs templates (ctmpl -dev). */
  async function probeTemplates() {
    try {
      const {data} = await getJSON('/v1/ctmpl/templates');
      $('tab-templates').hidden = data === null;
    } catch (err) {
      setTimeout(probeTemplates, 5000);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Agent facts in the header: /v1/agent/self, retried until it answers.

  async function loadAgent() {
    try {
      const {data} = await getJSON('/v1/agent/self');
      const config = (data && data.Config) || {};
      $('agent-dc').textContent = config.Datacenter || '—';
      $('agent-node').textContent = config.NodeName || '—';
      $('agent-version').textContent = config.Version || '—';
      $('agent-ctmpl-version').textContent = config.CtmplVersion || '—';
    } catch (err) {
      setTimeout(loadAgent, 5000);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Routing: #/services, #/nodes, #/kv/<folder or key>. Switching views stops the old
  // view's watches, so only the visible view keeps blocking queries open.

  const VIEWS = {services, nodes, kv, templates};
  const TITLES = {services: 'Services', nodes: 'Nodes', kv: 'Key/Value', templates: 'Templates'};
  let current = null;

  function parseRoute() {
    const hash = location.hash.replace(/^#\/?/, '');
    if (hash === 'kv' || hash.startsWith('kv/')) return {view: 'kv', arg: decodeKey(hash.slice(3))};
    if (hash === 'nodes') return {view: 'nodes'};
    if (hash === 'templates') return {view: 'templates'};
    return {view: 'services'};
  }

  function route() {
    const {view, arg} = parseRoute();
    if (view !== current) {
      if (current) VIEWS[current].stop();
      current = view;
      for (const name of Object.keys(VIEWS)) $(`view-${name}`).hidden = name !== view;
      for (const tab of document.querySelectorAll('.tab')) {
        if (tab.dataset.view === view) tab.setAttribute('aria-current', 'page');
        else tab.removeAttribute('aria-current');
      }
      document.title = `${TITLES[view]} · ctmpl agent`;
      VIEWS[view].start(arg || '');
    } else if (view === 'kv') {
      kv.show(arg || '');
    }
  }

  function init() {
    connection.show();
    kv.bind();
    $('services-filter').addEventListener('input', () => services.render());
    $('nodes-filter').addEventListener('input', () => nodes.render());
    window.addEventListener('hashchange', route);
    loadAgent();
    probeTemplates();
    route();
  }

  init();
})();
