// idp-emulator console: plain JavaScript, no library, no build step, nothing from another host.
//
// One document with six pages (the part of the URL after #/), all reading the server's REST API
// on this origin with JSON bodies, and its live stream read with fetch() so the token, when the
// server has one, travels in a header and never in a URL. The page keeps two things in the
// browser: the shown columns (localStorage, per browser) and the token (sessionStorage, per tab).
'use strict';

(() => {
  const SETTINGS = JSON.parse(document.body.dataset.console || '{}');
  const TOKEN_KEY = 'idp-emulator.token';
  const COLUMNS_KEY = 'idp-emulator.hidden-columns';
  const PAGE_SIZE = 100; // events a page; older ones load as the table is scrolled
  const KEEP_ROWS = 1000; // rows kept in the table; beyond this, older ones load again when wanted

  // ---------------------------------------------------------------------------------- helpers
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  /** An element with attributes and children; text is always text (never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  function shortTime(iso) {
    return iso ? iso.replace('T', ' ').replace(/\.\d+/, '').replace('Z', '') : '';
  }

  function msTime(ms) {
    return ms ? shortTime(new Date(ms).toISOString()) : '';
  }

  let toastTimer = 0;
  function toast(text) {
    const box = $('#toast');
    box.textContent = text;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.textContent = ''; }, 5000);
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = h('textarea', {class: 'sr-only', 'aria-hidden': 'true'});
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    toast('Copied to the clipboard');
  }

  /** Run ``fn`` at most once per ``ms``, the last call winning (bursts of stream records). */
  function throttle(fn, ms) {
    let timer = 0;
    return () => {
      if (!timer) timer = setTimeout(() => { timer = 0; fn(); }, ms);
    };
  }

  // ---------------------------------------------------------------------------------- the API
  class Problem extends Error {
    constructor(status, body) {
      super((body && (body.detail || body.title)) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  function problemText(error) {
    if (error instanceof Problem) {
      const where = error.body.field ? ` (${error.body.field})` : '';
      return `${error.body.title || 'Refused'}${where}: ${error.message}`;
    }
    return String(error.message || error);
  }

  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let asking = null;

  function authorization() {
    return token ? {Authorization: `Bearer ${token}`} : {};
  }

  /** Ask for the server's token once (every caller waiting meanwhile shares the answer). */
  function askToken() {
    if (asking) return asking;
    const refused = Boolean(token);
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    asking = new Promise((resolve) => {
      const dialog = $('#token-dialog');
      const form = $('#token-form');
      const input = $('#token-input');
      $('#token-error').textContent = refused ? 'The server refused that token; give it again.' : '';
      input.value = '';
      const submit = (event) => {
        event.preventDefault();
        if (!input.value.trim()) return;
        token = input.value.trim();
        sessionStorage.setItem(TOKEN_KEY, token);
        form.removeEventListener('submit', submit);
        dialog.close();
        asking = null;
        resolve();
      };
      form.addEventListener('submit', submit);
      dialog.addEventListener('cancel', (event) => event.preventDefault()); // nothing works without it
      if (!dialog.open) dialog.showModal();
      input.focus();
    });
    return asking;
  }

  /** A call to this server's API: JSON in, JSON out, a Problem for any refusal. */
  async function api(path, {method = 'GET', json} = {}) {
    for (;;) {
      const headers = {Accept: 'application/json', ...authorization()};
      let body;
      if (json !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(json);
      }
      const response = await fetch(path, {method, headers, body, cache: 'no-store'});
      if (response.status === 401) {
        await askToken();
        continue;
      }
      const kind = response.headers.get('Content-Type') || '';
      const data = kind.includes('json') ? await response.json() : await response.text();
      if (!response.ok) throw new Problem(response.status, typeof data === 'object' ? data : {detail: data});
      return data;
    }
  }

  // shared look-ups, read once per page load
  let vendorList = null;
  function vendors() {
    vendorList = vendorList || api('/api/vendors').then((d) => d.vendors).catch((e) => { vendorList = null; throw e; });
    return vendorList;
  }

  const described = new Map(); // vendor -> its descriptions (no examples: nothing to render)
  function descriptions(vendor) {
    if (!described.has(vendor)) {
      const found = api(`/api/vendors/${encodeURIComponent(vendor)}?examples=false`).then((data) => {
        const entry = data.vendors[0];
        return {
          types: new Map(entry.event_types.map((t) => [t.type, t])),
          errors: new Map(Object.entries(entry.error_codes)),
          title: entry.title,
        };
      });
      found.catch(() => described.delete(vendor));
      described.set(vendor, found);
    }
    return described.get(vendor);
  }

  function typeText(docs, type) {
    const found = docs.types.get(type);
    if (!found) return '';
    return found.failure ? `Error event. ${found.doc}` : found.doc;
  }

  function errorText(docs, error) {
    const found = docs.errors.get(error);
    if (!found) return '';
    return found.code === error ? found.doc : `${docs.title} reports it as “${found.code}”. ${found.doc}`;
  }

  // ---------------------------------------------------------------------------------- the live stream
  const heard = {event: [], attempt: [], open: []};

  function setLive(on) {
    const live = $('#live');
    live.dataset.state = on ? 'on' : 'off';
    live.textContent = on ? 'live' : 'reconnecting';
  }

  function dispatch(block) {
    let kind = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) kind = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!data || !heard[kind]) return;
    let record;
    try {
      record = JSON.parse(data);
    } catch {
      return;
    }
    for (const listener of heard[kind]) listener(record);
  }

  /** Server-Sent Events read with fetch(): EventSource cannot send the token's header. */
  async function listen() {
    let wait = 500;
    for (;;) {
      try {
        const response = await fetch('/api/stream', {headers: authorization(), cache: 'no-store'});
        if (response.status === 401) {
          await askToken();
          continue;
        }
        if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
        setLive(true);
        wait = 500;
        for (const listener of heard.open) listener(); // what happened while the stream was away
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            dispatch(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch {
        // the server stopped, or the network went away: try again shortly
      }
      setLive(false);
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 10000);
    }
  }

  // ---------------------------------------------------------------------------------- pages
  const pages = {};
  let current = '';

  function route() {
    if (current && !location.hash.startsWith('#/')) return; // an anchor in the page (the skip link), not a page
    const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'events';
    const [path, query = ''] = hash.split('?');
    const name = pages[path] ? path : 'events';
    const section = $(`#page-${name}`);
    for (const page of $$('section.page')) page.hidden = page !== section;
    for (const link of $$('.bar nav a')) {
      if (link.dataset.page === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    const heading = $('h1', section);
    document.title = `${heading.textContent} · idp-emulator`;
    const moved = current !== '' && current !== name;
    current = name;
    if (moved) heading.focus({preventScroll: false});
    pages[name].show(new URLSearchParams(query));
  }

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  // ---------------------------------------------------------------------------------- Authentication Events
  const COLUMNS = [
    {key: 'user', label: 'User'},
    {key: 'time', label: 'Time (UTC)'},
    {key: 'type', label: 'Event type'},
    {key: 'error', label: 'Error code'},
    {key: 'ip', label: 'IP address'},
    {key: 'client', label: 'Client'},
    {key: 'vendor', label: 'Vendor'},
    {key: 'run', label: 'Run'},
    {key: 'status', label: 'Delivery status'},
  ];
  // how each filter the server offers is labelled (a filter it adds later shows under its own name)
  const FILTER_LABELS = {
    user: 'User', type: 'Event type', error: 'Error code', ip: 'IP address', client: 'Client',
    vendor: 'Vendor', run: 'Run', actor: 'Actor', since: 'From', until: 'Until',
  };
  const FILTER_HINTS = {since: 'ISO time, or 1h ago', until: 'ISO time, or 10m ago'};
  const FILTER_LISTS = {type: 'known-types', error: 'known-errors', vendor: 'known-vendors'};
  // the event filters (from the store) and the API's scenario-time range
  const FILTERS = [...(SETTINGS.event_filters || []), 'since', 'until'];

  const hiddenColumns = new Set(JSON.parse(localStorage.getItem(COLUMNS_KEY) || '[]'));
  const events = {
    rows: new Map(), // id -> event
    deliveries: new Map(), // delivery id -> {event, delivery}
    top: 0, // the newest id shown
    next: null, // the id to page older from
    filters: null,
    stale: false,
    queue: Promise.resolve(),
    generation: 0,
    marked: false,
  };
  const table = $('#events-table');
  const tbody = $('tbody', table);

  function setupEvents() {
    const head = $('thead tr', table);
    const menu = $('#columns-menu');
    for (const column of COLUMNS) {
      head.append(h('th', {scope: 'col', dataset: {col: column.key}, text: column.label}));
      const box = h('input', {type: 'checkbox', dataset: {col: column.key}});
      box.checked = !hiddenColumns.has(column.key);
      box.addEventListener('change', () => {
        if (box.checked) hiddenColumns.delete(column.key);
        else hiddenColumns.add(column.key);
        localStorage.setItem(COLUMNS_KEY, JSON.stringify([...hiddenColumns]));
        applyColumns();
      });
      menu.append(h('label', {class: 'check'}, box, column.label));
    }
    table.classList.add('cards');
    applyColumns();

    const button = $('#columns-button');
    const toggleMenu = (open) => {
      menu.hidden = !open;
      button.setAttribute('aria-expanded', String(open));
      if (open) $('input', menu).focus();
    };
    button.addEventListener('click', () => toggleMenu(menu.hidden));
    menu.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        toggleMenu(false);
        button.focus();
      }
    });
    document.addEventListener('click', (event) => {
      if (!menu.hidden && !event.target.closest('.menu')) toggleMenu(false);
    });

    const fields = $('#filter-fields');
    for (const name of FILTERS) {
      const input = h('input', {
        name, id: `filter-${name}`, autocomplete: 'off', spellcheck: 'false',
        placeholder: FILTER_HINTS[name], list: FILTER_LISTS[name],
      });
      fields.append(h('label', {}, FILTER_LABELS[name] || name, input));
    }
    fields.addEventListener('focusin', fillSuggestions, {once: true});
    // on a phone the filters fold away unless some are in use
    const params = new URLSearchParams(location.hash.split('?')[1] || '');
    if (matchMedia('(max-width: 720px)').matches && !FILTERS.some((name) => params.get(name))) $('#filters-box').open = false;
    $('#filters').addEventListener('submit', (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const name of FILTERS) {
        const value = $(`#filter-${name}`).value.trim();
        if (value) query.set(name, value);
      }
      const text = query.toString();
      go(`#/events${text ? `?${text}` : ''}`);
    });
    $('#filters-clear').addEventListener('click', () => go('#/events'));

    tbody.addEventListener('click', (event) => {
      const row = event.target.closest('tr[data-id]');
      if (row) openEvent(Number(row.dataset.id), row);
    });
    tbody.addEventListener('keydown', onRowKey);
    tbody.addEventListener('focusin', (event) => {
      const row = event.target.closest('tr[data-id]');
      if (row) rove(row);
    });

    const older = $('#events-older');
    older.addEventListener('click', () => queue(() => loadEvents(false)));
    new IntersectionObserver((seen) => {
      if (seen.some((s) => s.isIntersecting) && !older.hidden && current === 'events') older.click();
    }, {rootMargin: '400px'}).observe(older);

    const refresh = throttle(() => {
      if (current === 'events') queue(loadNewer);
      else events.stale = true;
    }, 250);
    heard.event.push(refresh);
    heard.open.push(refresh);
    heard.attempt.push(onAttempt);
  }

  async function fillSuggestions() {
    try {
      const names = (await vendors()).map((v) => v.name);
      $('#known-vendors').replaceChildren(...names.map((n) => h('option', {value: n})));
      const all = await Promise.all(names.map(descriptions));
      const types = new Set(all.flatMap((d) => [...d.types.keys()]));
      $('#known-types').replaceChildren(...[...types].sort().map((t) => h('option', {value: t})));
      $('#known-errors').replaceChildren(...[...all[0].errors.keys()].sort().map((e) => h('option', {value: e})));
    } catch {
      // suggestions are a convenience: typing works without them
    }
  }

  function applyColumns() {
    for (const cell of $$('[data-col]', table)) cell.hidden = hiddenColumns.has(cell.dataset.col);
  }

  function queue(work) {
    events.queue = events.queue.then(work).catch((error) => {
      $('#events-status').textContent = problemText(error);
    });
    return events.queue;
  }

  function summary(list) {
    if (!list.length) return {status: 'none', text: 'no target', detail: 'No target took this event'};
    const delivered = list.filter((d) => d.status === 'delivered').length;
    const pending = list.filter((d) => d.status === 'pending');
    let status = 'delivered';
    if (list.some((d) => d.status === 'failed')) status = 'failed';
    else if (pending.some((d) => d.attempts > 0)) status = 'retrying';
    else if (pending.length) status = 'pending';
    else if (delivered < list.length) status = list.find((d) => d.status !== 'delivered').status;
    const text = list.length > 1 ? `${status} · ${delivered}/${list.length}` : status;
    const detail = list.map((d) => `${d.target}: ${d.status}, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`);
    return {status, text, detail: detail.join('\n')};
  }

  function statusBadge(list) {
    const s = summary(list);
    return h('span', {class: 'badge', dataset: {status: s.status}, title: s.detail, text: s.text});
  }

  function describedCode(kind, vendor, code, extra) {
    return h('span', {class: `described ${extra || ''}`, dataset: {doc: kind, vendor, code}, text: code});
  }

  function cell(column, event) {
    switch (column) {
      case 'user': return h('span', {class: 'clip', title: event.user_id ? `user id ${event.user_id}` : null, text: event.user || event.actor || '—'});
      case 'time': return h('time', {datetime: event.time, text: shortTime(event.time)});
      case 'type': return describedCode('type', event.vendor, event.type);
      case 'error': return event.error ? describedCode('error', event.vendor, event.error, 'error-code') : '';
      case 'run': return h('span', {class: 'mono clip', title: event.run, text: event.run});
      case 'status': return statusBadge(event.deliveries);
      default: return event[column] || '';
    }
  }

  function eventRow(event) {
    const row = h('tr', {tabindex: '-1', dataset: {id: event.id}});
    for (const column of COLUMNS) {
      const td = h('td', {dataset: {col: column.key, label: column.label}}, cell(column.key, event));
      if (column.key === 'ip' || column.key === 'time') td.classList.add('mono');
      td.hidden = hiddenColumns.has(column.key);
      row.append(td);
    }
    return row;
  }

  function remember(event) {
    events.rows.set(event.id, event);
    for (const delivery of event.deliveries) events.deliveries.set(delivery.id, {event, delivery});
  }

  function forget(id) {
    const event = events.rows.get(id);
    if (!event) return;
    for (const delivery of event.deliveries) events.deliveries.delete(delivery.id);
    events.rows.delete(id);
  }

  function filterQuery() {
    const query = new URLSearchParams(events.filters || {});
    query.set('order', 'newest');
    query.set('limit', String(PAGE_SIZE));
    return query;
  }

  function showCount() {
    const shown = events.rows.size;
    const filtered = Object.keys(events.filters || {}).length > 0;
    const what = `${shown}${events.next ? '+' : ''} event${shown === 1 ? '' : 's'}`;
    $('#events-status').textContent = shown
      ? `${what}${filtered ? ' matching the filters' : ''}, newest first`
      : filtered ? 'No events match these filters.' : 'No events yet: run a scenario, and they appear here as they are played.';
  }

  /** The newest page (``fresh``) or the next older one. */
  async function loadEvents(fresh) {
    const generation = events.generation;
    const query = filterQuery();
    if (!fresh && events.next) query.set('before', String(events.next));
    const data = await api(`/api/events?${query}`);
    if (generation !== events.generation) return; // the filters changed meanwhile
    if (fresh) {
      for (const id of [...events.rows.keys()]) forget(id);
      tbody.replaceChildren();
      events.top = data.events.length ? data.events[0].id : 0;
    }
    const rows = document.createDocumentFragment();
    for (const event of data.events) {
      remember(event);
      rows.append(eventRow(event));
    }
    tbody.append(rows);
    events.next = data.next;
    $('#events-older').hidden = !data.next;
    if (!tbody.querySelector('tr[tabindex="0"]') && tbody.firstElementChild) tbody.firstElementChild.tabIndex = 0;
    showCount();
    if (!events.marked && data.events.length) {
      events.marked = true;
      performance.mark('idp-emulator:first-rows');
    }
    const seen = new Set(data.events.map((e) => e.vendor));
    for (const vendor of seen) descriptions(vendor).catch(() => {});
  }

  /** What arrived since the newest row shown (the stream says something did). */
  async function loadNewer() {
    if (!events.filters) return;
    const generation = events.generation;
    const query = filterQuery();
    query.set('after', String(events.top));
    const data = await api(`/api/events?${query}`);
    if (generation !== events.generation || !data.events.length) return;
    if (data.next) return loadEvents(true); // more than a page arrived: start again from the newest
    const rows = document.createDocumentFragment();
    for (const event of data.events) {
      if (events.rows.has(event.id)) continue;
      remember(event);
      const row = eventRow(event);
      row.classList.add('fresh');
      rows.append(row);
    }
    tbody.prepend(rows);
    events.top = Math.max(events.top, data.events[0].id);
    while (tbody.rows.length > KEEP_ROWS) {
      const last = tbody.lastElementChild;
      forget(Number(last.dataset.id));
      last.remove();
      events.next = Number(tbody.lastElementChild.dataset.id);
      $('#events-older').hidden = false;
    }
    if (!tbody.querySelector('tr[tabindex="0"]') && tbody.firstElementChild) tbody.firstElementChild.tabIndex = 0;
    showCount();
  }

  function onAttempt(record) {
    const known = events.deliveries.get(record.delivery);
    if (known && record.number >= known.delivery.attempts) {
      known.delivery.attempts = record.number;
      known.delivery.last_status = record.status;
      if (record.delivery_status) known.delivery.status = record.delivery_status;
      const row = tbody.querySelector(`tr[data-id="${known.event.id}"] td[data-col="status"]`);
      if (row) row.replaceChildren(statusBadge(known.event.deliveries));
    }
    detail.attempted(record.delivery);
  }

  function rove(row) {
    for (const other of tbody.querySelectorAll('tr[tabindex="0"]')) if (other !== row) other.tabIndex = -1;
    row.tabIndex = 0;
  }

  function onRowKey(event) {
    const row = event.target.closest('tr[data-id]');
    if (!row) return;
    let next = null;
    if (event.key === 'ArrowDown') next = row.nextElementSibling;
    else if (event.key === 'ArrowUp') next = row.previousElementSibling;
    else if (event.key === 'Home') next = tbody.firstElementChild;
    else if (event.key === 'End') next = tbody.lastElementChild;
    else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      openEvent(Number(row.dataset.id), row);
      return;
    } else return;
    event.preventDefault();
    if (next) {
      rove(next);
      next.focus();
    }
  }

  pages.events = {
    show(params) {
      const filters = {};
      for (const name of FILTERS) {
        const value = params.get(name);
        $(`#filter-${name}`).value = value || '';
        if (value) filters[name] = value;
      }
      const changed = JSON.stringify(filters) !== JSON.stringify(events.filters);
      if (changed) {
        events.filters = filters;
        events.generation += 1;
        events.stale = false;
        queue(() => loadEvents(true));
      } else if (events.stale) {
        events.stale = false;
        queue(loadNewer);
      }
    },
  };

  // ---------------------------------------------------------------------------------- the tooltip
  const tip = $('#tip');
  let tipFor = null;

  async function showTip(el) {
    tipFor = el;
    let docs;
    try {
      docs = await descriptions(el.dataset.vendor);
    } catch {
      return;
    }
    if (tipFor !== el) return;
    const text = el.dataset.doc === 'type' ? typeText(docs, el.dataset.code) : errorText(docs, el.dataset.code);
    if (!text) return;
    tip.replaceChildren(h('strong', {text: `${docs.title}: ${el.dataset.code}`}), text);
    tip.hidden = false;
    const box = el.getBoundingClientRect();
    const left = Math.max(8, Math.min(box.left, window.innerWidth - tip.offsetWidth - 8));
    const below = box.bottom + 6 + tip.offsetHeight < window.innerHeight;
    tip.style.left = `${left}px`;
    tip.style.top = `${below ? box.bottom + 6 : box.top - tip.offsetHeight - 6}px`;
    el.setAttribute('aria-describedby', 'tip');
  }

  function hideTip() {
    if (tipFor) tipFor.removeAttribute('aria-describedby');
    tipFor = null;
    tip.hidden = true;
  }

  document.addEventListener('mouseover', (event) => {
    const el = event.target.closest('[data-doc]');
    if (el && el !== tipFor) showTip(el);
    else if (!el && tipFor) hideTip();
  });
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape') hideTip(); });
  window.addEventListener('scroll', () => { if (!tip.hidden) hideTip(); }, {passive: true});

  // ---------------------------------------------------------------------------------- the event panel
  const detail = {
    event: null,
    opener: null,
    boxes: new Map(), // delivery id -> its section's parts
    dialog: $('#detail'),

    attempted(deliveryId) {
      const box = this.boxes.get(deliveryId);
      if (box && this.dialog.open) box.refresh();
    },
  };

  detail.dialog.addEventListener('close', () => {
    detail.boxes.clear();
    detail.event = null;
    if (detail.opener && detail.opener.isConnected) detail.opener.focus();
  });
  detail.dialog.addEventListener('click', (event) => {
    const box = detail.dialog.getBoundingClientRect();
    const outside = event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom;
    if ((event.target === detail.dialog && outside) || event.target.closest('[data-close]')) detail.dialog.close();
  });

  function facts(pairs) {
    return h('dl', {class: 'facts'}, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => [h('dt', {text: k}), h('dd', {}, v)]));
  }

  function attemptsTable(log) {
    if (!log.length) return h('p', {class: 'hint', text: 'No attempt yet.'});
    return h('div', {class: 'table-wrap'}, h('table', {class: 'grid attempts'},
      h('thead', {}, h('tr', {}, ['#', 'At (UTC)', 'Answer', 'Duration', 'Response'].map((t) => h('th', {scope: 'col', text: t})))),
      h('tbody', {}, log.map((a) => h('tr', {},
        h('td', {text: a.number}),
        h('td', {class: 'mono', text: msTime(a.at_ms)}),
        h('td', {}, a.status ? h('span', {class: 'badge', dataset: {status: a.status < 300 ? 'delivered' : 'failed'}, text: a.status}) : '',
          a.error ? h('div', {class: 'error', text: a.error}) : '', a.injected ? h('div', {class: 'hint', text: `fault: ${a.injected}`}) : ''),
        h('td', {class: 'mono', text: `${Math.round(a.duration_ms)} ms`}),
        h('td', {}, response(a)),
      )))));
  }

  function response(attempt) {
    const body = attempt.response_body ?? (attempt.response_body_base64 ? `(base64) ${attempt.response_body_base64}` : '');
    const headers = attempt.response_headers || {};
    if (!body && !Object.keys(headers).length) return '';
    return h('details', {}, h('summary', {text: body ? `${body.length} bytes` : 'headers'}),
      h('table', {class: 'headers'}, Object.entries(headers).map(([k, v]) => h('tr', {}, h('td', {text: k}), h('td', {text: v})))),
      body ? h('pre', {class: 'json', text: body}) : '');
  }

  function deliveryBox(delivery) {
    const status = h('span');
    const attempts = h('div', {}, h('p', {class: 'hint', text: 'Loading attempts…'}));
    const request = h('div', {}, h('p', {class: 'hint', text: 'Signing a fresh request…'}));
    const command = h('pre', {class: 'command', tabindex: '0', 'aria-label': 'curl command'});
    const commandBox = h('details', {class: 'curl'}, h('summary', {text: 'The command'}), command);
    commandBox.hidden = true;
    let curl = null;
    const resend = h('button', {type: 'button', class: 'small', text: 'Resend'});
    const copyCurl = h('button', {type: 'button', class: 'small', text: 'Copy as curl'});
    const box = h('article', {class: 'delivery', dataset: {delivery: delivery.id}},
      h('h4', {}, `Delivery ${delivery.id} to ${delivery.target}`, status, resend, copyCurl),
      h('h5', {text: 'Request headers and signature (signed now)'}), request, commandBox,
      h('h5', {text: 'Attempts'}), attempts);

    const paint = () => {
      status.replaceChildren(statusBadge([delivery]));
      resend.hidden = delivery.status !== 'failed';
    };
    const refresh = async () => {
      try {
        const found = await api(`/api/deliveries/${delivery.id}`);
        Object.assign(delivery, {status: found.status, attempts: found.attempts});
        attempts.replaceChildren(attemptsTable(found.attempt_log));
        paint();
      } catch (error) {
        attempts.replaceChildren(h('p', {class: 'error', text: problemText(error)}));
      }
    };
    const sign = async () => {
      try {
        curl = await api(`/api/deliveries/${delivery.id}/curl`);
        request.replaceChildren(h('table', {class: 'headers request', 'aria-label': 'Request headers'},
          h('tr', {}, h('td', {text: 'POST'}), h('td', {class: 'mono', text: curl.url})),
          curl.headers.map((x) => h('tr', {}, h('td', {text: x.name}), h('td', {class: 'mono', text: x.value})))),
          curl.variables.length ? h('p', {class: 'hint', text: `The command reads ${curl.variables.join(', ')} from your shell.`}) : '',
          curl.redacted ? h('p', {class: 'hint', text: 'A secret given literally shows as <redacted>: put it in before running the command.'}) : '');
        command.textContent = curl.curl;
        commandBox.hidden = false;
      } catch (error) {
        copyCurl.disabled = true;
        request.replaceChildren(h('p', {class: 'error', text: problemText(error)}));
      }
    };
    resend.addEventListener('click', async () => {
      resend.disabled = true;
      try {
        await api(`/api/deliveries/${delivery.id}/resend`, {method: 'POST', json: {}});
        delivery.status = 'pending';
        paint();
        const row = tbody.querySelector(`tr[data-id="${detail.event.id}"] td[data-col="status"]`);
        if (row) row.replaceChildren(statusBadge(detail.event.deliveries));
        toast(`Delivery ${delivery.id} is queued again`);
      } catch (error) {
        toast(problemText(error));
      } finally {
        resend.disabled = false;
      }
    });
    copyCurl.addEventListener('click', async () => {
      if (!curl) await sign();
      if (!curl) return;
      commandBox.open = true;
      copy(curl.curl);
    });
    paint();
    detail.boxes.set(delivery.id, {refresh: throttle(refresh, 200)});
    refresh();
    sign();
    return box;
  }

  async function openEvent(id, opener) {
    let event = events.rows.get(id);
    try {
      if (!event) event = await api(`/api/events/${id}`);
    } catch (error) {
      toast(problemText(error));
      return;
    }
    detail.event = event;
    detail.opener = opener || document.activeElement;
    detail.boxes.clear();
    $('#detail-title').textContent = event.type;
    const typeDoc = h('p', {class: 'doc'});
    const errorDoc = h('p', {class: 'doc'});
    const payload = JSON.stringify(event.body, null, 2);
    $('#detail-body').replaceChildren(
      typeDoc,
      facts([
        ['Time (UTC)', shortTime(event.time)], ['User', event.user], ['Username', event.username], ['User id', event.user_id],
        ['Actor', event.actor], ['Action', event.action], ['Error code', event.error], ['IP address', event.ip],
        ['Client', event.client], ['Vendor', event.vendor], ['Event id', event.event_id],
        ['Run', h('a', {href: `#/events?run=${encodeURIComponent(event.run)}`, 'data-close': '', text: event.run})],
      ]),
      errorDoc,
      h('h3', {}, 'Payload ', h('button', {type: 'button', class: 'small', onclick: () => copy(payload), text: 'Copy'})),
      h('pre', {class: 'json', tabindex: '0', 'aria-label': 'Payload', text: payload}),
      h('h3', {text: `Deliveries (${event.deliveries.length})`}),
      ...(event.deliveries.length ? event.deliveries.map(deliveryBox) : [h('p', {class: 'hint', text: 'No target took this event.'})]),
    );
    if (!detail.dialog.open) detail.dialog.showModal();
    try {
      const docs = await descriptions(event.vendor);
      typeDoc.textContent = typeText(docs, event.type);
      if (event.error) errorDoc.textContent = `${event.error}: ${errorText(docs, event.error)}`;
    } catch {
      // descriptions are a help, not a need
    }
  }

  // ---------------------------------------------------------------------------------- Run a scenario
  const run = {watching: null, generation: 0};

  async function fillVendors(select, chosen) {
    const list = await vendors();
    const keep = chosen || select.value;
    select.replaceChildren(...list.map((v) => h('option', {value: v.name, text: `${v.title} (${v.name})`})));
    if (keep && list.some((v) => v.name === keep)) select.value = keep;
  }

  async function fillScenarios(chosen) {
    const select = $('#run-scenario');
    const keep = chosen || select.value;
    const {scenarios} = await api('/api/scenarios');
    const group = (bundled, label) => h('optgroup', {label},
      scenarios.filter((s) => s.bundled === bundled).map((s) => h('option', {value: s.name, text: s.name, dataset: {about: s.description}})));
    select.replaceChildren(group(true, 'Bundled'), group(false, 'Uploaded'));
    if (keep && scenarios.some((s) => s.name === keep)) select.value = keep;
    aboutScenario();
  }

  function aboutScenario() {
    const option = $('#run-scenario').selectedOptions[0];
    $('#run-scenario-about').textContent = option ? option.dataset.about : '';
  }

  async function fillSaved() {
    const {targets} = await api('/api/targets');
    const vendor = $('#run-vendor').value;
    const fit = targets.filter((t) => !t.vendor || t.vendor === vendor);
    $('#run-saved').replaceChildren(...(fit.length
      ? fit.map((t) => h('label', {class: 'check'}, h('input', {type: 'checkbox', value: t.name, name: 'saved'}), `${t.name} (${t.url})`))
      : [h('p', {class: 'hint', text: `No saved ${vendor} target.`})]));
  }

  async function loadRuns() {
    const {runs} = await api('/api/runs');
    $('tbody', $('#runs-table')).replaceChildren(...runs.map((r) => h('tr', {},
      h('td', {}, h('a', {href: `#/events?run=${encodeURIComponent(r.run)}`, class: 'mono', text: r.run})),
      h('td', {text: r.scenario}), h('td', {text: r.vendors.join(', ')}), h('td', {text: r.seed}),
      h('td', {}, h('span', {class: 'badge', dataset: {status: r.status === 'finished' ? 'delivered' : r.status === 'running' ? 'pending' : 'failed'}, text: r.status})),
      h('td', {class: 'mono', text: shortTime(r.started)}))));
  }

  function setupRun() {
    $('#run-scenario').addEventListener('change', aboutScenario);
    $('#run-vendor').addEventListener('change', () => fillSaved().catch(() => {}));
    $('#run-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const error = $('#run-error');
      error.textContent = '';
      const targets = $$('#run-saved input:checked').map((box) => box.value);
      if ($('#run-sink').checked) {
        const name = $('#run-sink-name').value.trim() || 'console';
        const sink = {name: 'sink', url: `${location.origin}/sink/${encodeURIComponent(name)}`};
        if (token) sink.headers = {Authorization: `Bearer ${token}`}; // a sink takes webhooks with the token
        targets.push(sink);
      }
      for (const url of $('#run-urls').value.split('\n').map((u) => u.trim()).filter(Boolean)) targets.push(url);
      const body = {scenario: $('#run-scenario').value, vendor: $('#run-vendor').value, targets};
      const seed = $('#run-seed').value.trim();
      const scale = $('#run-scale').value.trim();
      if (seed) body.seed = Number(seed);
      if (scale) body.time_scale = Number(scale);
      try {
        const started = await api('/api/runs', {method: 'POST', json: body});
        watchRun(started.run);
        toast(`Run ${started.run} started with seed ${started.seed}`);
      } catch (problem) {
        error.textContent = problemText(problem);
      }
    });
    $('#run-cancel').addEventListener('click', async () => {
      if (!run.watching) return;
      try {
        const answer = await api(`/api/runs/${run.watching}/cancel`, {method: 'POST', json: {}});
        toast(`Cancelled; ${answer.deliveries_cancelled} deliveries will not be sent`);
      } catch (problem) {
        toast(problemText(problem));
      }
    });
  }

  async function watchRun(id) {
    run.watching = id;
    const generation = ++run.generation;
    $('#run-progress').hidden = false;
    $('#run-id').textContent = id;
    $('#run-events').href = `#/events?run=${encodeURIComponent(id)}`;
    for (;;) {
      let info;
      try {
        info = await api(`/api/runs/${encodeURIComponent(id)}`);
      } catch (problem) {
        $('#run-facts').replaceChildren(h('dt', {text: 'Error'}), h('dd', {text: problemText(problem)}));
        return;
      }
      if (generation !== run.generation) return;
      const d = info.deliveries;
      const total = d.pending + d.delivered + d.failed + d.dropped + d.cancelled;
      const progress = info.progress || {};
      $('#run-facts').replaceChildren(...facts([
        ['Scenario', info.scenario], ['Vendor', info.vendors.join(', ')], ['Seed', String(info.seed)],
        ['Status', h('span', {class: 'badge', dataset: {status: info.status === 'finished' ? 'delivered' : info.status === 'running' ? 'pending' : 'failed'}, text: info.status})],
        ['Events played', String(info.events)],
        ['Deliveries', `${d.delivered} delivered, ${d.failed} failed, ${d.pending} pending${d.dropped ? `, ${d.dropped} dropped` : ''}${d.cancelled ? `, ${d.cancelled} cancelled` : ''}`],
        ['In flight', progress.in_flight !== undefined ? `${progress.in_flight} (retrying ${progress.retrying})` : ''],
        ['Error', info.error || ''],
      ]).childNodes);
      const bar = $('#run-bar');
      bar.max = Math.max(total, 1);
      bar.value = total - d.pending;
      const going = info.status === 'running' || d.pending > 0;
      $('#run-cancel').disabled = !going;
      if (!going) {
        loadRuns().catch(() => {});
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
      if (generation !== run.generation) return;
    }
  }

  pages.run = {
    async show(params) {
      try {
        await Promise.all([fillScenarios(params.get('scenario')), fillVendors($('#run-vendor'), params.get('vendor'))]);
        await Promise.all([fillSaved(), loadRuns()]);
      } catch (problem) {
        $('#run-error').textContent = problemText(problem);
      }
    },
  };

  // ---------------------------------------------------------------------------------- Scenarios
  const editor = {problems: [], generation: 0};

  function paintGutter() {
    const gutter = $('#scenario-gutter');
    const count = $('#scenario-yaml').value.split('\n').length;
    while (gutter.children.length < count) gutter.append(h('li', {text: gutter.children.length + 1}));
    while (gutter.children.length > count) gutter.lastElementChild.remove();
    const byLine = new Map();
    for (const p of editor.problems) if (p.line) byLine.set(p.line, [...(byLine.get(p.line) || []), p.message]);
    for (const [i, li] of Array.from(gutter.children).entries()) {
      const messages = byLine.get(i + 1);
      li.classList.toggle('problem', Boolean(messages));
      if (messages) li.title = messages.join('\n');
      else li.removeAttribute('title');
    }
    gutter.scrollTop = $('#scenario-yaml').scrollTop;
  }

  /** ``file:line:column: message`` (how every scenario problem is written) as its parts. */
  function parseProblem(text) {
    const found = /^.*?:(\d+):(\d+): ([\s\S]*)$/.exec(text);
    return found ? {line: Number(found[1]), column: Number(found[2]), message: found[3]} : {message: text};
  }

  function showProblems(problems) {
    editor.problems = problems.map(parseProblem);
    const area = $('#scenario-yaml');
    $('#scenario-problems').replaceChildren(...editor.problems.map((p) => h('li', {},
      h('button', {type: 'button', onclick: () => jumpTo(area, p.line, p.column),
        text: p.line ? `Line ${p.line}, column ${p.column}: ${p.message}` : p.message}))));
    $('#scenario-verdict').textContent = problems.length ? `${problems.length} problem${problems.length === 1 ? '' : 's'}` : 'No problems.';
    paintGutter();
  }

  function jumpTo(area, line, column) {
    if (!line) return area.focus();
    const lines = area.value.split('\n');
    let at = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i].length + 1;
    at += Math.max(0, (column || 1) - 1);
    area.focus();
    area.setSelectionRange(at, at);
    area.scrollTop = Math.max(0, (line - 3) * 20);
    paintGutter();
  }

  async function check() {
    const generation = ++editor.generation;
    const text = $('#scenario-yaml').value;
    if (!text.trim()) return showProblems([]);
    try {
      const verdict = await api('/api/validate', {method: 'POST', json: {yaml: text}});
      if (generation === editor.generation) showProblems(verdict.problems);
    } catch (problem) {
      $('#scenario-verdict').textContent = problemText(problem);
    }
  }

  async function openScenario(name, bundled) {
    const found = await api(`/api/scenarios/${encodeURIComponent(name)}`);
    $('#scenario-name').value = bundled ? `${name}-copy` : name;
    $('#scenario-yaml').value = found.yaml;
    $('#editor-title').textContent = bundled ? `Editor: a copy of ${name}` : `Editor: ${name}`;
    showProblems([]);
    check();
  }

  async function loadScenarioList() {
    const {scenarios} = await api('/api/scenarios');
    $('#scenario-list').replaceChildren(...scenarios.map((s) => h('li', {},
      h('div', {class: 'name'}, s.name, s.bundled ? h('span', {class: 'hint', text: ' · bundled'}) : h('span', {class: 'hint', text: ' · uploaded'})),
      h('p', {class: 'about', text: s.description}),
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'small', onclick: () => openScenario(s.name, s.bundled).catch((e) => toast(problemText(e))), text: 'Open', 'aria-label': `Open ${s.name}`}),
        h('button', {type: 'button', class: 'small', onclick: () => go(`#/run?scenario=${encodeURIComponent(s.name)}`), text: 'Run', 'aria-label': `Run ${s.name}`}),
        s.bundled ? '' : h('button', {type: 'button', class: 'small', text: 'Delete', 'aria-label': `Delete ${s.name}`, onclick: async () => {
          if (!confirm(`Delete the uploaded scenario ${s.name}?`)) return;
          try {
            await api(`/api/scenarios/${encodeURIComponent(s.name)}`, {method: 'DELETE'});
            toast(`Deleted ${s.name}`);
            loadScenarioList();
          } catch (e) {
            toast(problemText(e));
          }
        }})))));
  }

  function setupScenarios() {
    const area = $('#scenario-yaml');
    const later = (() => {
      let timer = 0;
      return () => { clearTimeout(timer); timer = setTimeout(check, 400); };
    })();
    area.addEventListener('input', () => { paintGutter(); later(); });
    area.addEventListener('scroll', () => { $('#scenario-gutter').scrollTop = area.scrollTop; });
    $('#scenario-check').addEventListener('click', check);
    $('#scenario-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const name = $('#scenario-name').value.trim();
      try {
        await api(`/api/scenarios/${encodeURIComponent(name)}`, {method: 'PUT', json: {yaml: area.value}});
        showProblems([]);
        toast(`Uploaded ${name}`);
        $('#editor-title').textContent = `Editor: ${name}`;
        loadScenarioList();
      } catch (problem) {
        if (problem.body && problem.body.problems) showProblems(problem.body.problems);
        else toast(problemText(problem));
      }
    });
    $('#scenario-run').addEventListener('click', () => go(`#/run?scenario=${encodeURIComponent($('#scenario-name').value.trim())}`));
    paintGutter();
  }

  pages.scenarios = {
    async show(params) {
      try {
        await loadScenarioList();
        if (params.get('name')) await openScenario(params.get('name'), false);
      } catch (problem) {
        toast(problemText(problem));
      }
    },
  };

  // ---------------------------------------------------------------------------------- Deliveries
  function deliveryRows(list, failed) {
    if (!list.length) return [h('tr', {class: 'empty'}, h('td', {colspan: 7, text: failed ? 'No failed delivery.' : 'Nothing pending.'}))];
    return list.map((d) => {
      const status = d.status === 'pending' && d.attempts > 0 ? 'retrying' : d.status;
      return h('tr', {dataset: {delivery: d.id}},
        h('td', {dataset: {label: 'Delivery'}}, h('button', {type: 'button', class: 'small', onclick: (e) => openEvent(d.event, e.currentTarget), text: `#${d.id}`, 'aria-label': `Open the event of delivery ${d.id}`}),
          ' ', h('span', {class: 'badge', dataset: {status}, text: status})),
        h('td', {dataset: {label: 'Event type'}, text: d.type}),
        h('td', {dataset: {label: 'Target'}, text: d.target}),
        h('td', {dataset: {label: 'Attempts'}, text: d.attempts}),
        h('td', {dataset: {label: 'Last answer'}, text: d.last_status ? `HTTP ${d.last_status}` : d.last_error || '—'}),
        h('td', {class: 'mono', dataset: {label: failed ? 'Failed at (UTC)' : 'Changed at (UTC)'}, text: msTime(d.updated_ms)}),
        h('td', {dataset: {label: ''}}, failed ? h('button', {type: 'button', class: 'small', text: 'Resend', 'aria-label': `Resend delivery ${d.id}`, onclick: async (e) => {
          e.currentTarget.disabled = true;
          try {
            await api(`/api/deliveries/${d.id}/resend`, {method: 'POST', json: {}});
            toast(`Delivery ${d.id} is queued again`);
            loadDeliveries();
          } catch (problem) {
            toast(problemText(problem));
            e.currentTarget.disabled = false;
          }
        }}) : ''));
    });
  }

  async function loadDeliveries() {
    const [failed, pending] = await Promise.all([
      api('/api/deliveries?status=failed&order=newest&limit=100'),
      api('/api/deliveries?status=pending&order=newest&limit=100'),
    ]);
    $('tbody', $('#failed-table')).replaceChildren(...deliveryRows(failed.deliveries, true));
    $('tbody', $('#pending-table')).replaceChildren(...deliveryRows(pending.deliveries, false));
  }

  function setupDeliveries() {
    $('#failed-table').classList.add('cards');
    $('#pending-table').classList.add('cards');
    const refresh = throttle(() => { if (current === 'deliveries') loadDeliveries().catch(() => {}); }, 1000);
    heard.attempt.push(refresh);
    heard.open.push(refresh); // what failed while the stream was away: no attempt will come to say so
    $('#replay-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const answer = await api('/api/replay', {method: 'POST', json: {since: $('#replay-since').value.trim()}});
        const skipped = Object.keys(answer.skipped).length;
        toast(`${answer.queued} deliver${answer.queued === 1 ? 'y' : 'ies'} queued again${skipped ? `; ${skipped} run(s) skipped: ${Object.values(answer.skipped)[0]}` : ''}`);
        loadDeliveries();
      } catch (problem) {
        toast(problemText(problem));
      }
    });
  }

  pages.deliveries = {
    show() {
      loadDeliveries().catch((problem) => toast(problemText(problem)));
    },
  };

  // ---------------------------------------------------------------------------------- Targets
  const targets = {editing: null, list: []};

  async function loadTargets() {
    const {targets: list} = await api('/api/targets');
    targets.list = list;
    $('#targets-empty').hidden = list.length > 0;
    $('#targets-wrap').hidden = list.length === 0;
    $('tbody', $('#targets-table')).replaceChildren(...list.map((t) => h('tr', {dataset: {target: t.name}},
      h('td', {dataset: {label: 'Name'}}, h('strong', {text: t.name}), t.needs.length ? h('div', {class: 'error', text: `needs ${t.needs.join(', ')} again`}) : ''),
      h('td', {dataset: {label: 'Vendor'}, text: t.vendor || 'any'}),
      h('td', {class: 'mono', dataset: {label: 'URL'}, text: t.url}),
      h('td', {dataset: {label: 'Kept in'}, text: t.source === 'config' ? 'the --config file' : 'the store'}),
      h('td', {dataset: {label: ''}}, h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'small', text: 'Test', 'aria-label': `Send ${t.name} a test event`, onclick: () => openTest(t)}),
        t.source === 'api' ? h('button', {type: 'button', class: 'small', text: 'Edit', 'aria-label': `Edit ${t.name}`, onclick: () => editTarget(t)}) : '',
        t.source === 'api' ? h('button', {type: 'button', class: 'small', text: 'Delete', 'aria-label': `Delete ${t.name}`, onclick: () => deleteTarget(t.name)}) : '')))));
  }

  function resetTargetForm() {
    targets.editing = null;
    $('#target-form').reset();
    $('#target-name').readOnly = false;
    $('#target-form-title').textContent = 'Add a target';
    $('#target-secret').placeholder = '';
    $('#target-url').placeholder = 'http://localhost:8000/webhooks/idp';
    $('#target-error').textContent = '';
  }

  function editTarget(t) {
    resetTargetForm();
    targets.editing = t.name;
    $('#target-form-title').textContent = `Edit ${t.name}`;
    $('#target-name').value = t.name;
    $('#target-name').readOnly = true;
    $('#target-vendor').value = t.vendor || '';
    const hidden = t.url === '<hidden>';
    $('#target-url').value = hidden ? '' : t.url;
    $('#target-url').placeholder = hidden ? 'hidden: it carries a token; give it again to change it' : '';
    $('#target-url').required = !hidden;
    $('#target-events').value = (t.config.events || []).join(', ');
    $('#target-secret').placeholder = 'leave empty to keep the secret';
    $('#target-name').focus();
  }

  async function deleteTarget(name) {
    if (!confirm(`Delete the target ${name}?`)) return;
    try {
      await api(`/api/targets/${encodeURIComponent(name)}`, {method: 'DELETE'});
      toast(`Deleted ${name}`);
      if (targets.editing === name) resetTargetForm();
      loadTargets();
    } catch (problem) {
      toast(problemText(problem));
    }
  }

  async function openTest(t) {
    const card = $('#target-test');
    card.hidden = false;
    card.dataset.target = t.name;
    $('#target-test-title').textContent = `Send ${t.name} a test event`;
    $('#target-test-result').replaceChildren();
    const select = $('#target-test-type');
    select.replaceChildren(h('option', {value: '', text: 'the vendor\'s login event'}));
    try {
      const docs = await descriptions(t.vendor);
      select.append(...[...docs.types.keys()].map((type) => h('option', {value: type, text: type})));
    } catch {
      // the default type needs no list
    }
    select.focus();
  }

  function setupTargets() {
    $('#targets-table').classList.add('cards');
    $('#target-new').addEventListener('click', resetTargetForm);
    $('#target-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const error = $('#target-error');
      error.textContent = '';
      let more = {};
      const text = $('#target-more').value.trim();
      if (text) {
        try {
          more = JSON.parse(text);
        } catch (problem) {
          error.textContent = `More settings: not JSON (${problem.message})`;
          return;
        }
      }
      const name = $('#target-name').value.trim();
      const globs = $('#target-events').value.split(',').map((g) => g.trim()).filter(Boolean);
      const secret = $('#target-secret').value;
      const body = {...more, vendor: $('#target-vendor').value};
      const url = $('#target-url').value.trim();
      if (url) body.url = url;
      if (secret) body.signing = {...(more.signing || {}), secret};
      try {
        if (targets.editing) {
          body.events = globs.length ? globs : null; // null removes them (a merge patch)
          await api(`/api/targets/${encodeURIComponent(name)}`, {method: 'PATCH', json: body});
          toast(`Saved ${name}`);
        } else {
          if (globs.length) body.events = globs;
          await api('/api/targets', {method: 'POST', json: {name, ...body}});
          toast(`Added ${name}`);
        }
        resetTargetForm();
        await loadTargets();
      } catch (problem) {
        error.textContent = problemText(problem);
      }
    });
    $('#target-test-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const name = $('#target-test').dataset.target;
      const type = $('#target-test-type').value;
      const result = $('#target-test-result');
      result.replaceChildren(h('p', {class: 'hint', text: 'Sending…'}));
      try {
        const answer = await api(`/api/targets/${encodeURIComponent(name)}/test`, {method: 'POST', json: type ? {type} : {}});
        result.replaceChildren(
          h('p', {}, h('span', {class: 'badge', dataset: {status: answer.ok ? 'delivered' : 'failed'}, text: answer.ok ? 'accepted' : 'refused'}),
            ` ${answer.type} answered ${answer.status ? `HTTP ${answer.status}` : 'nothing'} in ${answer.duration_ms} ms`),
          answer.error ? h('p', {class: 'error', text: answer.error}) : '',
          answer.response_body ? h('pre', {class: 'json', text: answer.response_body}) : '');
      } catch (problem) {
        result.replaceChildren(h('p', {class: 'error', text: problemText(problem)}));
      }
    });
  }

  pages.targets = {
    async show() {
      try {
        await Promise.all([loadTargets(), fillVendors($('#target-vendor'))]);
      } catch (problem) {
        toast(problemText(problem));
      }
    },
  };

  // ---------------------------------------------------------------------------------- Catalog
  async function showCatalog(vendor) {
    const body = $('#catalog-body');
    body.replaceChildren(h('p', {class: 'hint', text: 'Loading…'}));
    const data = await api(`/api/vendors/${encodeURIComponent(vendor)}`);
    const entry = data.vendors[0];
    const actions = Object.entries(entry.actions);
    body.replaceChildren(
      h('p', {text: entry.summary}),
      entry.sources.length ? h('details', {}, h('summary', {text: 'Sources'}), h('ul', {}, entry.sources.map((s) => h('li', {text: s})))) : '',
      h('h2', {text: 'Actions'}),
      h('div', {class: 'table-wrap'}, h('table', {class: 'grid cards'},
        h('thead', {}, h('tr', {}, h('th', {scope: 'col', text: 'Action'}), h('th', {scope: 'col', text: 'Events, in the order the vendor emits them'}))),
        h('tbody', {}, actions.map(([name, a]) => h('tr', {},
          h('td', {dataset: {label: 'Action'}}, h('strong', {text: name}), h('div', {class: 'hint', text: (data.actions[name] || {}).doc || ''})),
          h('td', {dataset: {label: 'Events'}}, a.events.length
            ? a.events.map((e) => h('div', {class: 'mono'}, e.type, e.when ? h('span', {class: 'hint', text: ` if ${e.when}`}) : ''))
            : '', a.note ? h('div', {class: 'hint', text: a.note}) : '')))))),
      ...(entry.delivery ? [h('h2', {text: 'Delivery by default'}), facts(Object.entries(entry.delivery))] : []),
      h('h2', {text: `Event types (${entry.event_types.length})`}),
      h('div', {class: 'list'}, entry.event_types.map((t) => h('details', {class: 'card'},
        h('summary', {}, h('strong', {class: 'mono', text: t.type}), ` — ${t.failure ? 'Error event. ' : ''}${t.doc}`),
        t.note ? h('p', {class: 'hint', text: t.note}) : '',
        t.example ? h('pre', {class: 'json', tabindex: '0', text: JSON.stringify(t.example, null, 2)}) : ''))),
      h('h2', {text: 'Error codes'}),
      h('p', {class: 'hint', text: `A scenario writes the neutral code; ${entry.title} reports the code beside it.`}),
      h('div', {class: 'table-wrap'}, h('table', {class: 'grid cards'},
        h('thead', {}, h('tr', {}, ['Neutral code', `${entry.title}'s code`, 'Description'].map((t) => h('th', {scope: 'col', text: t})))),
        h('tbody', {}, Object.entries(entry.error_codes).map(([neutral, e]) => h('tr', {},
          h('td', {class: 'mono', dataset: {label: 'Neutral code'}, text: neutral}),
          h('td', {class: 'mono', dataset: {label: 'Vendor code'}, text: e.code}),
          h('td', {dataset: {label: 'Description'}, text: e.doc})))))),
    );
  }

  pages.catalog = {
    async show(params) {
      const select = $('#catalog-vendor');
      try {
        await fillVendors(select, params.get('vendor'));
        await showCatalog(select.value);
      } catch (problem) {
        $('#catalog-body').replaceChildren(h('p', {class: 'error', text: problemText(problem)}));
      }
    },
  };

  // ---------------------------------------------------------------------------------- start
  for (const heading of $$('section.page h1')) heading.tabIndex = -1;
  setupEvents();
  setupRun();
  setupScenarios();
  setupDeliveries();
  setupTargets();
  $('#catalog-vendor').addEventListener('change', () => go(`#/catalog?vendor=${encodeURIComponent($('#catalog-vendor').value)}`));
  window.addEventListener('hashchange', route);
  route();
  listen();
})();
