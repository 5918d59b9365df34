// Lookout's page: the cameras as a live grid, one camera's detail (stats, pause, remove, drawing a zone) and the
// events timeline. Plain DOM, no build step; the HTTP API is `lookout serve`'s v1 contract (/api/v1/...).
'use strict';

const POLL_MS = 2000;
// A browser opens at most 6 HTTP/1.1 connections to one host, and an MJPEG <img> holds one for as long as it shows;
// the live events hold another and the polls and thumbnails need the rest. Past this many tiles the grid shows
// frame.jpg, reloaded at each poll, instead of streaming.
const MAX_MJPEG_TILES = 3;

const state = {
    token: localStorage.getItem('lookout.token') || '',
    streams: [], // the last GET /api/v1/streams
    detail: null, // the name of the camera in the detail view; null: the grid shows
    drawing: null, // the zone being drawn, [[x, y], ...] in 0..1; null: not drawing
    rules: { zones: [], lines: [], rules: [] },
    eventsNext: null, // GET /api/v1/events' `next`: pass as `before` for older events
    live: null, // the EventSource of new events
};

const $ = (id) => document.getElementById(id);
const fps = (stream) => Number(stream.fps ?? 0).toFixed(1);
const ms = (value) => (value === null || value === undefined ? '—' : `${value.toFixed(1)} ms`);

// Children are appended as nodes or text, never as HTML: names and URLs come from users.
function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
        if (value === undefined || value === null) continue;
        if (key === 'class') node.className = value;
        else if (key === 'dataset') Object.assign(node.dataset, value);
        else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
}

function setStatus(text) {
    $('status').textContent = text;
}

// ---- Token and API ----

// `#token=...` in the address wins and is stored; it is then taken out of the address bar (a fragment never
// reaches the server, but a copied address would carry it).
function readTokenFromFragment() {
    const token = new URLSearchParams(location.hash.slice(1)).get('token');
    if (!token) return;
    saveToken(token);
    history.replaceState(null, '', location.pathname + location.search);
}

function saveToken(token) {
    state.token = token;
    localStorage.setItem('lookout.token', token);
}

function needToken() {
    const form = $('token-form');
    if (!form.hidden) return;
    form.hidden = false;
    $('token-input').focus();
    setStatus('access token needed');
}

class ApiError extends Error {
    constructor(status, message) {
        super(message);
        this.status = status;
    }
}

async function api(path, { method = 'GET', body } = {}) {
    const headers = {};
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const response = await fetch(path, { method, headers, body: payload });
    if (response.status === 401) needToken();
    if (!response.ok) {
        let message = `${response.status} ${response.statusText}`;
        try {
            message = (await response.json()).error || message;
        } catch {
            // not JSON: keep the status line
        }
        throw new ApiError(response.status, message);
    }
    return response.status === 204 ? null : response.json();
}

// <img>, MJPEG and EventSource cannot send headers: they carry the token as `access_token` in the query.
function authed(path, extra = {}) {
    const query = new URLSearchParams(extra);
    if (state.token) query.set('access_token', state.token);
    const text = query.toString();
    return text ? `${path}?${text}` : path;
}

const streamPath = (name) => `api/v1/streams/${encodeURIComponent(name)}`;

// ---- Live images ----

// Points an <img> at a camera's live view. `key` says what it shows; the same key again leaves it alone, since
// setting an MJPEG image's src again would reconnect it. A failed load forgets the key, so the next poll retries.
function showImage(img, key, url) {
    if (img.dataset.key === key) return;
    img.dataset.key = key;
    img.src = url;
}

function showLive(img, name, mjpeg) {
    if (mjpeg) showImage(img, `mjpeg ${name} ${state.token}`, authed(`${streamPath(name)}/mjpeg`, { t: Date.now() }));
    else showImage(img, `frame ${name} ${Date.now()}`, authed(`${streamPath(name)}/frame.jpg`, { t: Date.now() }));
}

// Removing src aborts the request, which frees the connection an MJPEG stream holds.
function stopImage(img) {
    img.removeAttribute('src');
    delete img.dataset.key;
}

// A live image that fails (no frame yet, a dropped stream) is hidden and forgets its key, so the next poll retries.
function watchImage(img) {
    img.addEventListener('load', () => img.classList.remove('no-frame'));
    img.addEventListener('error', () => {
        if (!img.getAttribute('src')) return; // a removed src fires it too
        img.classList.add('no-frame');
        delete img.dataset.key;
    });
    return img;
}

// ---- Cameras grid ----

let refreshing = false;
async function refreshStreams() {
    if (refreshing) return;
    refreshing = true;
    try {
        state.streams = (await api('api/v1/streams')).streams;
        renderGrid();
        renderDetail();
        if ($('token-form').hidden) setStatus('');
    } catch (error) {
        if (error.status !== 401) setStatus(`cameras: ${error.message}`);
    } finally {
        refreshing = false;
    }
}

function makeTile(name) {
    return el(
        'button',
        { type: 'button', class: 'tile', dataset: { stream: name }, onclick: () => openDetail(name) },
        watchImage(el('img', { class: 'live', alt: `camera ${name}` })),
        el('span', { class: 'no-frame-text' }, 'no frame yet'),
        el(
            'span',
            { class: 'caption' },
            el('b', { class: 'name' }, name),
            el('span', { class: 'state' }),
            el('span', { class: 'fps' })
        )
    );
}

function renderGrid() {
    const grid = $('grid');
    const names = new Set(state.streams.map((s) => s.name));
    for (const tile of [...grid.children]) {
        if (names.has(tile.dataset.stream)) continue;
        stopImage(tile.querySelector('img'));
        tile.remove();
    }
    const visible = state.detail === null;
    const mjpeg = state.streams.length <= MAX_MJPEG_TILES;
    for (const stream of state.streams) {
        let tile = [...grid.children].find((t) => t.dataset.stream === stream.name);
        if (!tile) grid.append((tile = makeTile(stream.name)));
        tile.dataset.state = stream.state;
        tile.querySelector('.state').textContent = stream.state;
        tile.querySelector('.fps').textContent = `${fps(stream)} fps`;
        const img = tile.querySelector('img');
        // The detail view needs the connections the tiles would hold.
        if (visible) showLive(img, stream.name, mjpeg);
        else stopImage(img);
    }
    if (state.streams.length === 0) grid.replaceChildren(el('p', { class: 'empty' }, 'No cameras yet.'));
    else grid.querySelector('.empty')?.remove();
}

async function addCamera(event) {
    event.preventDefault();
    const name = $('add-name').value.trim();
    $('add-error').textContent = '';
    try {
        const stream = await api('api/v1/streams', {
            method: 'POST',
            body: { name, url: $('add-url').value.trim(), loop: $('add-loop').checked },
        });
        state.streams = [...state.streams.filter((s) => s.name !== name), stream];
        $('add-form').reset();
        renderGrid();
    } catch (error) {
        $('add-error').textContent = error.message;
    }
}

// ---- Camera detail ----

function openDetail(name) {
    state.detail = name;
    $('grid-view').hidden = true;
    $('detail').hidden = false;
    renderGrid();
    renderDetail();
    loadRules();
}

function closeDetail() {
    state.detail = null; // first: stopDrawing re-renders the detail, which would close it again
    stopDrawing();
    stopImage($('detail-image'));
    $('detail').hidden = true;
    $('grid-view').hidden = false;
    renderGrid();
}

function renderDetail() {
    if (state.detail === null) return;
    const stream = state.streams.find((s) => s.name === state.detail);
    if (!stream) return closeDetail(); // removed, here or elsewhere
    $('detail-name').textContent = stream.name;
    $('pause-stream').textContent = stream.state === 'paused' ? 'Resume' : 'Pause';
    const stats = {
        state: stream.state,
        fps: fps(stream),
        'latency p50': ms(stream.latency_p50_ms),
        'latency p99': ms(stream.latency_p99_ms),
        frames: stream.frames,
        dropped: stream.dropped,
        reconnects: stream.reconnects,
        'last error': stream.last_error ?? '—',
        decode: stream.decode,
        size: stream.width ? `${stream.width}×${stream.height}` : '—',
        url: stream.url,
    };
    $('detail-stats').replaceChildren(
        ...Object.entries(stats).flatMap(([key, value]) => [
            el('dt', {}, key),
            el('dd', { dataset: { stat: key } }, String(value)),
        ])
    );
    if (!state.drawing) showLive($('detail-image'), stream.name, true);
    renderOverlay();
}

async function togglePause() {
    const stream = state.streams.find((s) => s.name === state.detail);
    if (!stream) return;
    const action = stream.state === 'paused' ? 'resume' : 'pause';
    try {
        const updated = await api(`${streamPath(stream.name)}/${action}`, { method: 'POST' });
        state.streams = state.streams.map((s) => (s.name === updated.name ? updated : s));
        renderDetail();
    } catch (error) {
        setStatus(`${action}: ${error.message}`);
    }
}

async function removeCamera() {
    const name = state.detail;
    if (name === null || !confirm(`Remove camera ${name}?`)) return;
    try {
        await api(streamPath(name), { method: 'DELETE' });
        state.streams = state.streams.filter((s) => s.name !== name);
        closeDetail();
    } catch (error) {
        setStatus(`remove: ${error.message}`);
    }
}

// ---- Zones ----

async function loadRules() {
    try {
        state.rules = await api('api/v1/rules');
    } catch (error) {
        setStatus(`rules: ${error.message}`);
    }
    renderRules();
    renderOverlay();
}

const zoneAppliesTo = (zone, name) => !zone.streams || zone.streams.includes(name);

function renderRules() {
    const { zones, lines, rules } = state.rules;
    const items = [
        ...zones.map((z) => {
            const where = z.streams ? z.streams.join(', ') : 'every camera';
            return el('li', { dataset: { zone: z.name } }, `zone ${z.name}: ${z.points.length} points, ${where}`);
        }),
        ...lines.map((l) => el('li', { dataset: { line: l.name } }, `line ${l.name}`)),
        ...rules.map((r) => {
            const on = r.zone ? ` zone ${r.zone}` : r.line ? ` line ${r.line}` : '';
            return el('li', { dataset: { rule: r.name } }, `rule ${r.name}: ${r.trigger}${on}`);
        }),
    ];
    $('rules').replaceChildren(...(items.length ? items : [el('li', {}, 'none')]));
}

// The overlay's viewBox is the image's own size, so its shapes keep their proportions (circles stay round);
// points are kept in 0..1 and scaled here.
function renderOverlay() {
    const img = $('detail-image');
    const svg = $('detail-overlay');
    const width = img.naturalWidth || 1;
    const height = img.naturalHeight || 1;
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const svgEl = (tag, attributes) => {
        const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
        for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
        return node;
    };
    const points = (list) => list.map(([x, y]) => `${x * width},${y * height}`).join(' ');
    const shapes = state.rules.zones
        .filter((z) => state.detail !== null && zoneAppliesTo(z, state.detail))
        .map((z) => svgEl('polygon', { class: 'zone', points: points(z.points) }));
    if (state.drawing) {
        shapes.push(svgEl('polygon', { class: 'drawing', points: points(state.drawing) }));
        const r = Math.max(width, height) / 150;
        for (const [x, y] of state.drawing) {
            shapes.push(svgEl('circle', { class: 'corner', cx: x * width, cy: y * height, r }));
        }
    }
    svg.replaceChildren(...shapes);
}

// Zones are drawn on a still frame: a moving picture is a poor thing to click corners on.
function startDrawing() {
    if (state.detail === null) return;
    state.drawing = [];
    const img = $('detail-image');
    showImage(img, `snapshot ${Date.now()}`, authed(`${streamPath(state.detail)}/frame.jpg`, { t: Date.now() }));
    $('detail-view').classList.add('drawing');
    $('zone-form').hidden = false;
    $('zone-error').textContent = '';
    $('zone-name').focus();
    renderOverlay();
}

function stopDrawing() {
    state.drawing = null;
    $('detail-view').classList.remove('drawing');
    $('zone-form').hidden = true;
    $('zone-form').reset();
    showTriggerFields();
    renderDetail();
}

function addCorner(event) {
    if (!state.drawing) return;
    // Normalised by the image's displayed box, which is the whole picture (the image is never letterboxed here).
    const box = $('detail-image').getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    state.drawing.push([clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)]);
    renderOverlay();
}

function showTriggerFields() {
    const trigger = $('zone-trigger').value;
    $('zone-seconds').hidden = trigger !== 'dwell';
    $('zone-at-least').hidden = trigger !== 'count';
}

async function saveZone(event) {
    event.preventDefault();
    const error = $('zone-error');
    if (!state.drawing || state.drawing.length < 3) {
        error.textContent = 'Click at least 3 corners on the image.';
        return;
    }
    const body = { name: $('zone-name').value.trim(), points: state.drawing, trigger: $('zone-trigger').value };
    if (body.trigger === 'dwell' && $('zone-seconds').value) body.seconds = Number($('zone-seconds').value);
    if (body.trigger === 'count' && $('zone-at-least').value) body.at_least = parseInt($('zone-at-least').value, 10);
    const classes = $('zone-classes').value.split(',').map((c) => c.trim()).filter(Boolean);
    if (classes.length) body.classes = classes;
    if ($('zone-this-stream').checked) body.stream = state.detail;
    try {
        await api('api/v1/zones', { method: 'POST', body });
        stopDrawing();
        await loadRules();
    } catch (e) {
        error.textContent = e.message;
    }
}

// ---- Events ----

function eventFilters() {
    const filters = {
        stream: $('filter-stream').value.trim(),
        rule: $('filter-rule').value.trim(),
        trigger: $('filter-trigger').value,
    };
    return Object.fromEntries(Object.entries(filters).filter(([, value]) => value));
}

async function loadEvents(older = false) {
    const query = new URLSearchParams({ limit: '50', ...eventFilters() });
    if (older) query.set('before', state.eventsNext);
    try {
        const { events, next } = await api(`api/v1/events?${query}`);
        if (!older) $('events').replaceChildren(el('li', { class: 'empty' }, 'No events yet.'));
        for (const event of events) upsertEvent(event, false);
        state.eventsNext = next;
        $('events-older').hidden = !next;
    } catch (error) {
        if (error.status !== 401) setStatus(`events: ${error.message}`);
    }
}

// The live stream announces an event once, when it opens, so an "open" shown here would go stale: an open event
// shows nothing, a closed one how long it lasted.
function lasted(event) {
    if (event.state === 'interrupted') return el('span', { class: 'state interrupted' }, 'interrupted');
    if (event.state !== 'closed' || !event.end) return null;
    const seconds = (new Date(event.end) - new Date(event.start)) / 1000;
    const text = seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds / 60)} min`;
    return el('span', { class: 'lasted' }, `lasted ${text}`);
}

function eventRow(event) {
    // The snapshot URL is built here rather than taken from `snapshot` (an absolute path), so that it stays relative.
    const snapshotURL = authed(`api/v1/events/${encodeURIComponent(event.id)}/snapshot.jpg`);
    const place = event.zone ?? event.line;
    const how = [event.trigger + (place ? ` ${place}` : ''), event.direction].filter(Boolean).join(', ');
    const rule = `${event.rule} (${how})`;
    const track = event.track_id != null ? ` #${event.track_id}` : '';
    const count = event.count != null ? ` ×${event.count}` : '';
    return el(
        'li',
        { class: 'event-row', dataset: { id: event.id, state: event.state } },
        event.snapshot
            ? el(
                  'a',
                  { href: snapshotURL, target: '_blank' },
                  el('img', { class: 'snapshot', alt: 'snapshot', src: snapshotURL })
              )
            : el('span', { class: 'snapshot none' }, 'no snapshot'),
        el(
            'div',
            { class: 'event-text' },
            el('time', { datetime: event.start, title: event.start }, new Date(event.start).toLocaleString()),
            el('span', { class: 'rule' }, rule),
            el('span', { class: 'what' }, `${event.class ?? 'objects'}${track}${count}`),
            el('span', { class: 'where' }, event.stream_name ?? event.source),
            lasted(event)
        )
    );
}

// An event already listed (it was open and has closed since) is replaced in place; a new one goes on top when
// `prepend`, at the bottom (an older page) otherwise.
function upsertEvent(event, prepend) {
    const list = $('events');
    list.querySelector('.empty')?.remove();
    const row = eventRow(event);
    row.dataset.via = prepend ? 'live' : 'list'; // what the browser test checks live updates by
    const old = [...list.children].find((r) => r.dataset.id === event.id);
    if (old) old.replaceWith(row);
    else if (prepend) list.prepend(row);
    else list.append(row);
}

function connectLive() {
    state.live?.close();
    const source = new EventSource(authed('api/v1/events/live'));
    source.addEventListener('event', (message) => {
        const event = JSON.parse(message.data);
        const filters = eventFilters();
        const shown =
            (!filters.stream || event.stream_name === filters.stream) &&
            (!filters.rule || event.rule === filters.rule) &&
            (!filters.trigger || event.trigger === filters.trigger);
        if (shown) upsertEvent(event, true);
    });
    // EventSource reconnects by itself after a dropped connection, but not after an answer other than 200
    // (a wrong token, a restarting server): then it is closed, and tried again here.
    source.addEventListener('error', () => {
        if (source.readyState === EventSource.CLOSED) setTimeout(() => state.live === source && connectLive(), 5000);
    });
    state.live = source;
}

// ---- Start ----

function refreshAll() {
    refreshStreams();
    loadEvents();
    loadRules();
    connectLive();
}

function start() {
    readTokenFromFragment();
    $('token-form').addEventListener('submit', (event) => {
        event.preventDefault();
        saveToken($('token-input').value.trim());
        $('token-form').hidden = true;
        setStatus('');
        refreshAll();
    });
    $('add-form').addEventListener('submit', addCamera);
    $('detail-back').addEventListener('click', closeDetail);
    $('pause-stream').addEventListener('click', togglePause);
    $('remove-stream').addEventListener('click', removeCamera);
    $('draw-zone').addEventListener('click', startDrawing);
    $('detail-image').addEventListener('click', addCorner);
    watchImage($('detail-image')).addEventListener('load', renderOverlay);
    $('zone-trigger').addEventListener('change', showTriggerFields);
    $('zone-undo').addEventListener('click', () => {
        state.drawing?.pop();
        renderOverlay();
    });
    $('zone-cancel').addEventListener('click', stopDrawing);
    $('zone-form').addEventListener('submit', saveZone);
    $('event-filters').addEventListener('submit', (event) => {
        event.preventDefault();
        loadEvents();
    });
    $('events-older').addEventListener('click', () => loadEvents(true));
    refreshAll();
    setInterval(refreshStreams, POLL_MS);
}

start();
