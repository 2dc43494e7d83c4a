// GenIR web playground. Plain ES module, no build step. Everything shown comes from the JSON API
// and the thread's event stream; text is always inserted as text (never as HTML).

const $ = (id) => document.getElementById(id);
const els = {
  threads: $('threads'),
  newThread: $('new-thread'),
  galleryInfo: $('gallery-info'),
  forgetMe: $('forget-me'),
  title: $('thread-title'),
  meta: $('thread-meta'),
  status: $('thread-status'),
  log: $('log'),
  composer: $('composer'),
  input: $('input'),
  send: $('send'),
  file: $('file'),
  attachment: $('attachment'),
  lightbox: $('lightbox'),
  lightboxImg: $('lightbox-img'),
  lightboxTitle: $('lightbox-title'),
  lightboxCaption: $('lightbox-caption'),
  lightboxDownload: $('lightbox-download'),
  lightboxClose: $('lightbox-close'),
  menu: $('menu'),
  scrim: $('scrim'),
  connection: $('connection'),
  hint: $('hint'),
};

const randomId = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
};
const stored = (storage, key) => {
  let v = storage.getItem(key);
  if (!v) {
    v = randomId();
    storage.setItem(key, v);
  }
  return v;
};

const app = {
  info: null,
  threads: new Map(),
  threadId: null,
  summary: null,
  events: null,
  clientId: stored(sessionStorage, 'genir.client'),
  busy: false,
  progress: null,
  attachment: null,
  /** This tab picked a match: open the found picture when it arrives. */
  awaitingFound: false,
  /** This tab asked to be forgotten ("Forget me" or /forget): its answer is kept in `forgotten`. */
  forgetting: false,
  /** The answer to "Forget me", shown again if the thread it came in is deleted by it. */
  forgotten: null,
};

// ---------- DOM helpers ----------

const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
  not: 'M18 6 6 18M6 6l12 12',
  regen: 'M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7',
  undo: 'M9 14 4 9l5-5M4 9h10a6 6 0 0 1 0 12h-3',
  reset: 'M12 5v14M5 12h14',
  more: 'M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM21 21l-4.3-4.3M11 8v6M8 11h6',
  zoom: 'M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM21 21l-4.3-4.3',
  expand: 'M14 4h6v6M10 20H4v-6M20 4l-7 7M4 20l7-7',
  check: 'M5 12.5 10 17l9-10',
  download: 'M12 4v11M7 10l5 5 5-5M5 20h14',
  sheet: 'M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z',
  keep: 'M6 4h12v16l-6-4-6 4z',
  research: 'M9 3h6M10 3v6l-5 9a2 2 0 0 0 1.8 3h10.4a2 2 0 0 0 1.8-3l-5-9V3',
  rename: 'M4 20h4L19 9l-4-4L4 16zM14 6l4 4',
};

function icon(name) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

/** h('div', {class: 'x', onclick: fn}, 'text', child) */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const timeAgo = (ms) => {
  const s = Math.round((ms - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  const abs = Math.abs(s);
  if (abs < 45) return 'just now';
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
};

// ---------- API ----------

async function api(path, options = {}) {
  const res = await fetch(path, options);
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = new Error(body?.error ?? `The server answered ${res.status}.`);
    err.status = res.status;
    throw err;
  }
  return body;
}

const postJson = (path, data) =>
  api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data) });

// ---------- Sidebar ----------

function statusText(t) {
  if (t.status === 'found') return `Found · round ${t.rounds}`;
  if (t.status === 'new') return 'No rounds yet';
  return `Searching · round ${t.rounds}`;
}

/** "Delete this search" (sidebar): its rounds, pictures and transcript records, after a confirmation. */
async function deleteThread(t) {
  if (!window.confirm(`Delete the search "${t.title}"? This cannot be undone.`)) return;
  try {
    await api(`/api/threads/${encodeURIComponent(t.id)}`, { method: 'DELETE' });
  } catch (err) {
    if (err.status !== 404) return localNotice(err.message);
  }
  app.threads.delete(t.id);
  if (t.id === app.threadId) newSearch();
  else renderThreads();
}

/** "Rename this search" (sidebar): a name of its own; an empty name goes back to its first words. */
async function renameThread(t) {
  const name = window.prompt('Name this search (empty: its first words)', t.title);
  if (name === null) return;
  try {
    const { thread } = await api(`/api/threads/${encodeURIComponent(t.id)}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: name }),
    });
    updateSummary(thread);
  } catch (err) {
    localNotice(err.message);
  }
}

/** A sidebar button acting on one search (rename, delete). */
function threadTool(t, kind, verb, iconName, act) {
  return h(
    'button',
    {
      type: 'button',
      class: `thread-tool thread-${kind}`,
      title: `${verb} this search`,
      'aria-label': `${verb} the search "${t.title}"`,
      dataset: { thread: t.id },
      onclick: () => act(t),
    },
    icon(iconName),
  );
}

function renderThreads() {
  const list = [...app.threads.values()].sort((a, b) => b.updatedAt - a.updatedAt);
  els.threads.replaceChildren(
    ...(list.length === 0
      ? [h('div', { class: 'threads-empty' }, 'No searches yet.')]
      : list.map((t) =>
          h(
            'div',
            { class: 'thread-row' },
            h(
              'button',
              {
                type: 'button',
                class: `thread-item${t.id === app.threadId ? ' active' : ''}`,
                dataset: { thread: t.id, status: t.status },
                'aria-current': t.id === app.threadId ? 'page' : null,
                onclick: () => {
                  closeDrawer();
                  if (t.id !== app.threadId) openThread(t.id);
                },
              },
              t.thumbUrl
                ? h('img', { class: 't-thumb', src: t.thumbUrl, alt: '', loading: 'lazy' })
                : h('span', { class: 't-thumb' }),
              h(
                'span',
                { class: 't-text' },
                h('span', { class: 't-title' }, t.title),
                h(
                  'span',
                  { class: 't-meta' },
                  h('span', { class: `dot ${t.status}` }),
                  statusText(t),
                  ' · ',
                  timeAgo(t.updatedAt),
                ),
              ),
            ),
            threadTool(t, 'rename', 'Rename', 'rename', renameThread),
            threadTool(t, 'delete', 'Delete', 'not', deleteThread),
          ),
        )),
  );
}

let refreshTimer = null;
function refreshThreadsSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try {
      const current = app.threadId;
      // The open thread is listed too while it exists, even when older than the newest listed.
      const query = current ? `?also=${encodeURIComponent(current)}` : '';
      const { threads } = await api(`/api/threads${query}`);
      app.threads = new Map(threads.map((t) => [t.id, t]));
      if (current && !app.threads.has(current)) {
        // The open thread was deleted (e.g. by "Forget me"): a new search, still showing what the
        // person was told about it.
        const carry = app.forgotten?.threadId === current ? app.forgotten.post : null;
        history.replaceState({}, '', '/');
        showBlank();
        if (carry) els.log.append(noticePost(carry));
        return;
      }
      renderThreads();
    } catch {
      // The list stays as it is; the next event tries again.
    }
  }, 150);
}

function updateSummary(summary) {
  if (!summary) return;
  app.threads.set(summary.id, summary);
  renderThreads();
  if (summary.id !== app.threadId) return;
  app.summary = summary;
  els.title.textContent = summary.title;
  document.title = `${summary.title} · GenIR`;
  els.meta.textContent =
    summary.rounds === 0
      ? 'Describe the image you remember to begin.'
      : `${summary.rounds} round${summary.rounds === 1 ? '' : 's'} · updated ${timeAgo(summary.updatedAt)}`;
  els.status.hidden = summary.status === 'new';
  els.status.textContent = summary.status === 'found' ? '✓ Found' : 'Searching';
  els.status.className = `status ${summary.status}`;
  markRounds();
}

// ---------- Thread ----------

async function createThread() {
  const { thread } = await postJson('/api/threads', {});
  app.threads.set(thread.id, thread);
  return thread.id;
}

/** Leaves the open thread (if any): its event stream closes. */
function leaveThread() {
  if (app.events) app.events.close();
  app.events = null;
  app.threadId = null;
  app.summary = null;
  app.busy = false;
  app.progress = null;
  setConnection(true);
}

/** A new search that is not a thread yet: the thread is made when the first message is sent. */
function showBlank() {
  leaveThread();
  els.log.replaceChildren(hero());
  showHeader('New search', 'Describe the image you remember to begin.');
  renderThreads();
}

/** An address that names no thread of this browser: say so, and offer a new search. */
function showNotFound() {
  leaveThread();
  els.log.replaceChildren(
    h(
      'div',
      { class: 'not-found', dataset: { kind: 'not-found' } },
      h('h2', {}, 'Search not found'),
      h(
        'p',
        {},
        'There is no search at this address in this browser. It may have been deleted, or it was started in another browser.',
      ),
      h(
        'a',
        {
          class: 'button',
          href: '/',
          onclick: (e) => {
            e.preventDefault();
            newSearch();
          },
        },
        'Start a new search',
      ),
    ),
  );
  showHeader('Not found', '');
  renderThreads();
}

/** WEB_AUTH=token: the access token, entered once in this browser. */
function showSignIn(problem) {
  leaveThread();
  const input = h('input', {
    type: 'password',
    id: 'token',
    autocomplete: 'current-password',
    placeholder: 'Access token',
    'aria-label': 'Access token',
  });
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await postJson('/api/session', { token: input.value });
          boot();
        } catch (err) {
          showSignIn(err.message);
        }
      },
    },
    h('h2', {}, 'This GenIR asks for an access token'),
    h('p', {}, 'Enter the token you were given. This browser remembers it.'),
    input,
    h('button', { type: 'submit', class: 'button' }, 'Sign in'),
    problem ? h('p', { class: 'signin-error', role: 'alert' }, problem) : null,
  );
  els.log.replaceChildren(form);
  showHeader('Sign in', '');
  input.focus();
}

function showHeader(title, meta) {
  els.title.textContent = title;
  document.title = title === 'New search' ? 'GenIR · find the image you remember' : `${title} · GenIR`;
  els.meta.textContent = meta;
  els.status.hidden = true;
}

/** "New search": the blank page (no empty thread is stored until something is sent). */
function newSearch() {
  closeDrawer();
  if (location.pathname !== '/') history.pushState({}, '', '/');
  showBlank();
  els.input.focus();
}

/** "Connection lost — retrying" while the event stream reconnects; the snapshot on reconnect catches up. */
function setConnection(ok) {
  els.connection.hidden = ok;
  document.body.classList.toggle('offline', !ok);
}

function openThread(id, { push = true } = {}) {
  leaveThread();
  app.threadId = id;
  app.forgotten = null;
  if (push && location.pathname !== `/t/${id}`) history.pushState({}, '', `/t/${id}`);
  renderThreads();
  const es = new EventSource(`/api/threads/${encodeURIComponent(id)}/events?client=${app.clientId}`);
  app.events = es;
  let subscribed;
  const ready = new Promise((resolve) => {
    subscribed = resolve;
  });
  es.addEventListener('open', () => setConnection(true));
  es.addEventListener('snapshot', (e) => {
    setConnection(true);
    renderThread(JSON.parse(e.data).thread);
    refreshThreadsSoon();
    subscribed();
  });
  es.addEventListener('post', (e) => {
    const { post, thread } = JSON.parse(e.data);
    appendPost(post, true);
    if (app.forgetting && post.kind === 'notice' && post.ephemeral) {
      app.forgetting = false;
      app.forgotten = { threadId: id, post };
    }
    if (thread) updateSummary(thread);
    showTyping();
    scrollDown();
  });
  es.addEventListener('progress', (e) => {
    app.progress = JSON.parse(e.data).text;
    showTyping();
  });
  es.addEventListener('busy', (e) => {
    const b = JSON.parse(e.data);
    app.busy = b.busy;
    app.progress = b.progress;
    showTyping();
    scrollDown();
  });
  es.addEventListener('thread', (e) => updateSummary(JSON.parse(e.data)));
  // A search deleted in another tab of this browser.
  es.addEventListener('removed', (e) => {
    app.threads.delete(JSON.parse(e.data).id);
    refreshThreadsSoon();
  });
  // After each event (e.g. /forget deleted searches), bring the thread list up to date.
  es.addEventListener('done', () => refreshThreadsSoon());
  es.addEventListener('error', () => {
    if (app.events !== es) return;
    // The browser retries by itself (CONNECTING); a stream it gave up on (CLOSED: the server
    // answered with an error) is opened again after a pause, or the page says the thread is gone.
    setConnection(false);
    if (es.readyState === EventSource.CLOSED) {
      app.events = null;
      setTimeout(() => app.threadId === id && !app.events && route(), 2000);
    }
  });
  return ready;
}

function renderThread(thread) {
  els.log.replaceChildren();
  app.busy = thread.busy;
  app.progress = thread.progress;
  if (thread.posts.length === 0) els.log.append(hero());
  for (const post of thread.posts) appendPost(post, false);
  const { posts, busy, progress, ...summary } = thread;
  updateSummary(summary);
  showTyping();
  els.log.scrollTop = els.log.scrollHeight;
}

function hero() {
  const info = app.info;
  return h(
    'div',
    { class: 'hero' },
    h('img', { src: '/static/icon.svg', alt: '' }),
    h('h2', {}, 'What image are you looking for?'),
    h(
      'p',
      {},
      'Describe it in your own words. I draw what I understood, show you the ',
      String(info?.topK ?? 10),
      ' closest images',
      info ? ` of ${info.gallerySize.toLocaleString('en')}` : '',
      ', and you correct me until it is there.',
    ),
    h(
      'div',
      { class: 'examples' },
      (info?.examples ?? []).map((text) =>
        h('button', { type: 'button', class: 'example', onclick: () => sendMessage(text) }, text),
      ),
    ),
  );
}

function scrollDown() {
  const log = els.log;
  log.scrollTop = log.scrollHeight;
}

function showTyping() {
  let row = els.log.querySelector('.typing');
  if (!app.busy) {
    row?.remove();
    return;
  }
  if (!row)
    row = h(
      'div',
      { class: 'typing', role: 'status' },
      h('span', { class: 'spinner' }),
      h('span', { class: 'typing-text' }),
    );
  row.querySelector('.typing-text').textContent = app.progress ?? 'Working…';
  els.log.append(row);
}

// ---------- Posts ----------

function appendPost(post, live) {
  els.log.querySelector('.hero')?.remove();
  let el;
  switch (post.kind) {
    case 'user':
      el = userPost(post);
      break;
    case 'notice':
      el = noticePost(post);
      break;
    case 'round': {
      // A round shown again (after Undo) stays where it is in the history, marked current again.
      const shown = els.log.querySelector(`.round[data-round-id="${CSS.escape(post.roundId)}"]`);
      el = roundPost(post);
      if (shown) {
        shown.replaceWith(el);
        markRounds();
        return;
      }
      break;
    }
    case 'found':
      el = foundPost(post);
      if (live && app.awaitingFound) {
        app.awaitingFound = false;
        openLightbox({
          url: post.url,
          title: post.asset.title,
          caption: `Found in round ${post.round}`,
          download: post.downloadUrl,
        });
      }
      break;
    default:
      return;
  }
  const typing = els.log.querySelector('.typing');
  els.log.insertBefore(el, typing);
}

function userPost(post) {
  if (post.action) {
    return h(
      'div',
      { class: 'msg-user', dataset: { kind: 'user', action: post.action } },
      h('span', { class: 'chip-user' }, post.text),
    );
  }
  return h(
    'div',
    { class: 'msg-user', dataset: { kind: 'user' } },
    h(
      'div',
      { class: 'bubble' },
      post.text,
      post.image ? h('span', { class: 'pic' }, `📎 ${post.image}`) : null,
    ),
  );
}

// "  /pick <n>      Match n is…" lines of the help text; an argument may nest <…>.
const COMMAND_LINE = /^\s{2}(\/\S+(?: <.*?>(?=\s))?)\s+(.*)$/;

function noticePost(post) {
  const lines = post.text.split('\n');
  const commands = lines.filter((l) => COMMAND_LINE.test(l));
  const prose = lines.filter((l) => !COMMAND_LINE.test(l)).join('\n');
  return h(
    'div',
    { class: `notice ${post.level}`, dataset: { kind: 'notice', level: post.level } },
    h(
      'div',
      {},
      h('div', { class: 'n-text' }, prose),
      commands.length
        ? h(
            'dl',
            {},
            commands.flatMap((l) => {
              const [, usage, help] = COMMAND_LINE.exec(l);
              return [h('dt', {}, usage), h('dd', {}, help)];
            }),
          )
        : null,
      post.ephemeral ? h('span', { class: 'only-you' }, 'Only you can see this.') : null,
    ),
  );
}

const CAUSES = {
  find: 'new search',
  refine: 'refined',
  'more-like': 'more like a match',
  'not-these': 'away from the last matches',
  regenerate: 'redrawn',
  image: 'from your picture',
};

function roundPost(r) {
  const synth = r.synthetic;
  const synthLabel = !synth
    ? 'No picture this round'
    : synth.reused
      ? `Same ${synth.kind === 'upload' ? 'picture' : 'drawing'} as round ${synth.round}`
      : synth.kind === 'upload'
        ? 'Your picture'
        : 'What I drew';
  const figure = h(
    'figure',
    { class: `synthetic${synth?.reused ? ' reused' : ''}` },
    h(
      'div',
      {
        class: 'synthetic-frame',
        onclick: synth
          ? () =>
              openLightbox({
                url: synth.url,
                title: `Round ${r.round}: ${synthLabel.toLowerCase()}`,
                caption: r.query,
              })
          : null,
      },
      synth
        ? h('img', { src: synth.url, alt: `Synthetic image of round ${r.round}`, class: 'synthetic-img' })
        : h(
            'div',
            { class: 'no-picture' },
            r.noPicture ?? 'No new picture: this round searched with your feedback.',
          ),
    ),
    h(
      'figcaption',
      {},
      h('span', { class: 'label' }, synthLabel),
      r.interpretation && !synth?.reused ? r.interpretation : null,
    ),
  );

  const tiles = h(
    'div',
    { class: 'tiles' },
    r.tiles.map((t) => {
      const classes = ['tile'];
      if (r.feedback.picked === t.n) classes.push('picked');
      if (r.feedback.moreLike.includes(t.n)) classes.push('liked');
      const tile = h(
        'div',
        {
          class: classes.join(' '),
          role: 'button',
          tabindex: '0',
          title: `${t.n}. ${t.title} (similarity ${t.score.toFixed(3)})`,
          dataset: { n: String(t.n), assetId: t.assetId },
          'aria-label': `Match ${t.n}: ${t.title}`,
        },
        h(
          'div',
          { class: 'tile-frame' },
          h('img', { src: t.thumbUrl, alt: t.title, loading: 'lazy' }),
          h(
            'div',
            { class: 'tile-actions' },
            h('button', { type: 'button', class: 'primary pick-btn', dataset: { act: 'pick' } }, "That's it"),
            h('button', { type: 'button', class: 'more-btn', dataset: { act: 'more' } }, 'More like'),
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'tile-zoom',
              dataset: { act: 'zoom' },
              title: 'View full size',
              'aria-label': 'View full size',
            },
            icon('expand'),
          ),
        ),
        h('span', { class: 'num' }, String(t.n)),
      );
      const zoom = () =>
        openLightbox({
          url: t.url,
          title: `${t.n}. ${t.title}`,
          caption: `Round ${r.round} · similarity ${t.score.toFixed(3)}`,
        });
      tile.addEventListener('click', (e) => {
        const act = e.target.closest('button')?.dataset.act;
        const card = tile.closest('.round');
        const live = card.classList.contains('current') && !card.classList.contains('done');
        if (act === 'zoom' || !live) return zoom();
        if (act === 'more') return sendAction(t.moreLike, tile, 'liked');
        return pick(t.pick, tile);
      });
      tile.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          tile.click();
        }
      });
      return tile;
    }),
  );

  const button = (name, text, actionId, extra = '') =>
    h(
      'button',
      {
        type: 'button',
        class: `button ${extra}`,
        dataset: { act: name },
        onclick: () => sendAction(actionId),
      },
      icon(name),
      text,
    );

  return h(
    'article',
    { class: 'round', dataset: { kind: 'round', roundId: r.roundId, round: String(r.round) } },
    h(
      'div',
      { class: 'round-head' },
      h('span', { class: 'round-no' }, `Round ${r.round}`),
      r.cause ? h('span', { class: 'round-cause' }, CAUSES[r.cause] ?? r.cause) : null,
      h('span', { class: 'round-tag state-tag', hidden: true }),
      h('span', { class: 'spacer' }),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () =>
            openLightbox({
              url: r.sheetUrl,
              title: `Round ${r.round}: the top ${r.tiles.length} matches`,
              caption: r.query,
              download: r.sheetUrl,
              downloadLabel: 'Download',
            }),
        },
        'Contact sheet',
      ),
    ),
    h('div', { class: 'label' }, 'Refined query'),
    h('div', { class: 'query' }, r.query),
    h(
      'div',
      { class: 'round-body' },
      figure,
      h(
        'div',
        {},
        h(
          'div',
          { class: 'tiles-head' },
          h(
            'span',
            { class: 'label' },
            r.tiles.length === 1 ? 'Top 1 match' : `Top ${r.tiles.length} matches`,
          ),
          h('span', { class: 'hint-inline' }, 'Click the one you meant'),
        ),
        tiles,
      ),
    ),
    r.notes.length
      ? h(
          'ul',
          { class: 'notes' },
          r.notes.map((n) => h('li', {}, n)),
        )
      : null,
    r.consentNotice ? h('p', { class: 'research' }, icon('research'), h('span', {}, r.consentNotice)) : null,
    h(
      'div',
      { class: 'round-actions' },
      button('not', 'Not these', r.actions.notThese, 'needs-active'),
      button('regen', 'Regenerate', r.actions.regenerate),
      button('undo', 'Undo', r.actions.undo),
      h('span', { class: 'spacer' }),
      r.actions.keep ? button('keep', 'Keep this search for research', r.actions.keep, 'keep') : null,
      button('reset', 'New search', r.actions.newSearch, 'ghost'),
    ),
  );
}

function foundPost(f) {
  const open = () =>
    openLightbox({
      url: f.url,
      title: f.asset.title,
      caption: `Found in round ${f.round}`,
      download: f.downloadUrl,
    });
  return h(
    'div',
    { class: 'found-card', dataset: { kind: 'found' } },
    h('img', { src: f.thumbUrl, alt: f.asset.title, onclick: open }),
    h(
      'div',
      {},
      h('h3', {}, `Found it in round ${f.round}`),
      h('p', {}, f.asset.title),
      f.available ? null : h('p', {}, '(The original file could not be read.)'),
      h(
        'div',
        { class: 'f-actions' },
        h('button', { type: 'button', class: 'button', onclick: open }, icon('zoom'), 'Open full size'),
        f.available
          ? h(
              'a',
              { class: 'button ghost', href: f.downloadUrl, download: f.fileName },
              icon('download'),
              'Download original',
            )
          : null,
      ),
    ),
  );
}

/** Marks each round card: current (controls live), past, or undone; a found search disables picking. */
function markRounds() {
  const s = app.summary;
  if (!s) return;
  const ids = new Set(s.roundIds);
  for (const card of els.log.querySelectorAll('.round')) {
    const id = card.dataset.roundId;
    const current = id === s.currentRoundId;
    const undone = !ids.has(id);
    card.classList.toggle('current', current);
    card.classList.toggle('past', !current && !undone);
    card.classList.toggle('undone', undone);
    card.classList.toggle('done', current && s.status === 'found');
    const tag = card.querySelector('.state-tag');
    tag.hidden = !undone;
    tag.textContent = undone ? 'undone' : '';
    for (const b of card.querySelectorAll('.round-actions .needs-active')) b.disabled = s.status === 'found';
    // Once kept, the Keep button is gone from every round (rounds posted before still carry it).
    for (const b of card.querySelectorAll('.round-actions .keep')) b.hidden = s.kept;
  }
}

// ---------- Sending ----------

async function ensureThread() {
  if (app.threadId) return app.threadId;
  const id = await createThread();
  history.replaceState({}, '', `/t/${id}`);
  // Subscribed before the first message goes, so this tab sees everything said in it.
  await openThread(id, { push: false });
  return id;
}

function localNotice(text) {
  appendPost({ kind: 'notice', level: 'error', text, ephemeral: true }, true);
  scrollDown();
}

async function sendMessage(text) {
  const id = await ensureThread();
  if (/^\s*\/forget\b/i.test(text)) app.forgetting = true;
  const eventId = randomId();
  try {
    if (app.attachment) {
      const form = new FormData();
      form.set('text', text);
      form.set('eventId', eventId);
      form.set('clientId', app.clientId);
      form.set('image', app.attachment, app.attachment.name);
      await api(`/api/threads/${id}/messages`, { method: 'POST', body: form });
      setAttachment(null);
    } else {
      await postJson(`/api/threads/${id}/messages`, {
        text,
        eventId,
        clientId: app.clientId,
      });
    }
    return true;
  } catch (err) {
    localNotice(err.message);
    return false;
  }
}

async function sendAction(actionId, tile, mark) {
  if (!app.threadId) return;
  if (tile && mark) tile.classList.add(mark);
  try {
    await postJson(`/api/threads/${app.threadId}/actions`, {
      actionId,
      eventId: randomId(),
      clientId: app.clientId,
    });
  } catch (err) {
    localNotice(err.message);
  }
}

function pick(actionId, tile) {
  app.awaitingFound = true;
  return sendAction(actionId, tile, 'picked');
}

function setAttachment(file) {
  app.attachment = file;
  els.file.value = '';
  if (!file) {
    els.attachment.hidden = true;
    els.attachment.replaceChildren();
    return;
  }
  const url = URL.createObjectURL(file);
  els.attachment.replaceChildren(
    h(
      'span',
      { class: 'chip' },
      h('img', { src: url, alt: '' }),
      file.name,
      h(
        'button',
        { type: 'button', 'aria-label': 'Remove picture', onclick: () => setAttachment(null) },
        '×',
      ),
    ),
  );
  els.attachment.hidden = false;
}

function autosize() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight, 180)}px`;
}

els.composer.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = els.input.value;
  els.send.disabled = true;
  const ok = await sendMessage(text);
  els.send.disabled = false;
  if (ok) {
    els.input.value = '';
    autosize();
  }
  els.input.focus();
});
els.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    els.composer.requestSubmit();
  } else if (e.key === 'Escape') {
    els.input.blur();
  }
});
els.input.addEventListener('input', autosize);
els.file.addEventListener('change', () => setAttachment(els.file.files?.[0] ?? null));
els.input.addEventListener('paste', (e) => {
  const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (file) {
    e.preventDefault();
    setAttachment(file);
  }
});

// Number keys pick a match of the current round (when not typing).
document.addEventListener('keydown', (e) => {
  if (!els.lightbox.hidden) {
    if (e.key === 'Escape') closeLightbox();
    return;
  }
  const typing = e.target instanceof HTMLElement && e.target.closest('input, textarea, [contenteditable]');
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === '/') {
    e.preventDefault();
    els.input.focus();
    return;
  }
  if (!/^[0-9]$/.test(e.key)) return;
  const card = els.log.querySelector('.round.current:not(.done)');
  const n = e.key === '0' ? 10 : Number(e.key);
  const tile = card?.querySelector(`.tile[data-n="${n}"]`);
  if (!tile) return;
  e.preventDefault();
  tile.focus();
  tile.click();
});

// ---------- Lightbox ----------

function openLightbox({ url, title, caption, download, downloadLabel = 'Download original' }) {
  els.lightboxImg.src = url;
  els.lightboxImg.alt = title;
  els.lightboxTitle.textContent = title;
  els.lightboxCaption.textContent = caption ?? '';
  els.lightboxDownload.hidden = !download;
  if (download) {
    els.lightboxDownload.href = download;
    els.lightboxDownload.textContent = downloadLabel;
  }
  els.lightbox.hidden = false;
  els.lightboxClose.focus();
}
function closeLightbox() {
  els.lightbox.hidden = true;
  els.lightboxImg.removeAttribute('src');
}
els.lightbox.addEventListener('click', (e) => {
  if (e.target === els.lightbox || e.target === els.lightboxClose) closeLightbox();
});

// "Forget me": the person's searches and transcripts, whichever thread is open. The answer comes
// in this thread (to this tab only); then the thread list is refreshed ("done" → refreshThreadsSoon).
els.forgetMe.addEventListener('click', async () => {
  const actionId = app.info?.actions?.forget;
  if (!actionId) return;
  const ok = window.confirm(
    'Forget me: delete every search you started here, and every research transcript of yours? This cannot be undone.',
  );
  if (!ok) return;
  await ensureThread();
  app.forgetting = true;
  await sendAction(actionId);
});

// ---------- Start ----------

els.newThread.addEventListener('click', newSearch);

// Phones: the thread list is a drawer opened from the header.
function closeDrawer() {
  document.body.classList.remove('drawer-open');
  els.menu.setAttribute('aria-expanded', 'false');
}
els.menu.addEventListener('click', () => {
  const open = document.body.classList.toggle('drawer-open');
  els.menu.setAttribute('aria-expanded', String(open));
});
els.scrim.addEventListener('click', closeDrawer);

// Touch screens: no keyboard hints, a shorter placeholder on narrow ones.
const touch = matchMedia('(hover: none), (pointer: coarse)');
const narrow = matchMedia('(max-width: 480px)');
function fitToScreen() {
  els.hint.hidden = touch.matches;
  els.input.placeholder = narrow.matches ? 'Describe the image…' : 'Describe the image you remember…';
}
touch.addEventListener('change', fitToScreen);
narrow.addEventListener('change', fitToScreen);
fitToScreen();

const threadInPath = () => /^\/t\/([A-Za-z0-9_-]+)$/.exec(location.pathname)?.[1] ?? null;

/** Shows what the address names: `/` a new search, `/t/<id>` that thread if it is one of ours. */
async function route() {
  const id = threadInPath();
  if (!id) return showBlank();
  if (id === app.threadId && app.events) return;
  try {
    if (!app.threads.has(id)) await api(`/api/threads/${encodeURIComponent(id)}`);
    openThread(id, { push: false });
  } catch (err) {
    if (err.status === 404) showNotFound();
    else if (err.status === 401) boot();
    else {
      // The server is not reachable: say so, and try again.
      setConnection(false);
      setTimeout(route, 2000);
    }
  }
}

window.addEventListener('popstate', () => route());

async function boot() {
  try {
    app.info = await api('/api/info');
    els.galleryInfo.textContent = `Gallery: ${app.info.gallerySize.toLocaleString('en')} images · top ${app.info.topK} per round`;
    if (app.info.auth === 'token' && !app.info.signedIn) return showSignIn();
    const { threads } = await api('/api/threads');
    app.threads = new Map(threads.map((t) => [t.id, t]));
    await route();
    if (!touch.matches) els.input.focus();
  } catch (err) {
    if (err.status === 401 && app.info?.auth === 'token') return showSignIn(err.message);
    els.log.replaceChildren(
      h('div', { class: 'notice error' }, `Could not reach the server: ${err.message}`),
    );
  }
}

boot();
