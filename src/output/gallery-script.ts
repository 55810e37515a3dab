// The gallery page's script, run in the browser: reads the embedded data and renders one page of cards at a time, so
// a batch of 10,000 images costs 200 cards of DOM. Every value from the data goes in as text (textContent, attribute
// values), never as markup: prompts and errors are user text. Plain ES5-ish code in a string: nothing to bundle.
export const GALLERY_SCRIPT = String.raw`
(function () {
  'use strict';
  var PAGE_SIZE = 200;
  var data = JSON.parse(document.getElementById('gallery-data').textContent);
  var items = data.items;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function isSimplified(it) { return it.prompts.length > 1; }
  var FILTERS = {
    all: function () { return true; },
    failed: function (it) { return it.status === 'failed'; },
    simplified: isSimplified,
    cancelled: function (it) { return it.status === 'cancelled'; }
  };
  var LABELS = { all: 'All', failed: 'Failed', simplified: 'Simplified', cancelled: 'Cancelled' };
  var state = { filter: 'all', page: 0 };

  // A URL path from a file path relative to the page: each part encoded, so a name is never read as a URL.
  function href(file) { return file.split('/').map(encodeURIComponent).join('/'); }

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }
  function duration(ms) {
    var s = Math.round(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + (s % 60) + 's';
  }

  function renderHeader() {
    document.title = 'imagebatch: ' + data.batchId;
    var head = document.getElementById('head');
    head.appendChild(el('h1', null, 'Batch ' + data.batchId));
    var counts = el('dl', 'counts');
    var c = data.counts;
    var shown = [['total', items.length], ['succeeded', c.succeeded || 0], ['failed', c.failed || 0],
      ['cancelled', c.cancelled || 0], ['skipped', c.skipped || 0]];
    if (c.queued) shown.push(['queued', c.queued]);
    shown.forEach(function (kv) {
      var box = el('div', 'count ' + kv[0]);
      box.setAttribute('data-count', kv[0]);
      box.appendChild(el('dt', null, kv[0]));
      box.appendChild(el('dd', null, kv[1]));
      counts.appendChild(box);
    });
    head.appendChild(counts);
    var times = el('p', 'times');
    var ended = data.stopped ? null : data.writtenAt;
    if (data.startedAt) times.appendChild(el('span', 'started', 'started ' + when(data.startedAt)));
    times.appendChild(el('span', 'ended', (ended ? 'ended ' : 'written ') + when(data.writtenAt)));
    if (data.startedAt && ended) {
      var ms = new Date(ended).getTime() - new Date(data.startedAt).getTime();
      if (ms >= 0) times.appendChild(el('span', 'duration', 'took ' + duration(ms)));
    }
    head.appendChild(times);
    if (data.retryOf) head.appendChild(el('p', 'note', 'A retry of batch ' + data.retryOf + '.'));
    if (data.stopped) head.appendChild(el('p', 'note stopped', 'Stopped with items not run: ' + data.stopped));
    if (data.simulated) head.appendChild(el('p', 'note', 'Simulated: the provider simulator made these images.'));
  }

  function renderFilters() {
    var bar = document.getElementById('filters');
    Object.keys(FILTERS).forEach(function (name) {
      var n = items.filter(FILTERS[name]).length;
      var b = el('button', 'filter', LABELS[name] + ' (' + n + ')');
      b.type = 'button';
      b.setAttribute('data-filter', name);
      b.addEventListener('click', function () {
        state.filter = name;
        state.page = 0;
        render();
      });
      bar.appendChild(b);
    });
  }

  // Cards: one per item, or one per variation group (its variants side by side, in variant order).
  function cardsOf(list) {
    var cards = [];
    var groups = new Map();
    list.forEach(function (it) {
      if (!it.group) return cards.push({ items: [it] });
      var card = groups.get(it.group);
      if (!card) {
        card = { group: it.group, items: [] };
        groups.set(it.group, card);
        cards.push(card);
      }
      card.items.push(it);
    });
    groups.forEach(function (card) {
      card.items.sort(function (a, b) { return (a.variant || 0) - (b.variant || 0); });
    });
    return cards;
  }

  function metaLine(it) {
    var parts = [it.provider];
    if (it.model) parts.push(it.model);
    if (it.seed !== undefined) parts.push('seed ' + it.seed);
    if (it.width && it.height) parts.push(it.width + '\u00d7' + it.height);
    parts.push(it.attempts + (it.attempts === 1 ? ' attempt' : ' attempts'));
    return parts.join(' \u00b7 ');
  }

  function renderItem(it) {
    var box = el('article', 'item ' + it.status);
    box.setAttribute('data-id', it.id);
    box.setAttribute('data-status', it.status);
    if (it.status === 'succeeded' && it.file) {
      var a = el('a', 'thumb');
      a.href = href(it.file);
      a.target = '_blank';
      a.rel = 'noopener';
      var img = el('img');
      img.loading = 'lazy';
      img.decoding = 'async';
      img.alt = it.prompts[it.prompts.length - 1] || it.id;
      img.src = href(it.file);
      a.appendChild(img);
      box.appendChild(a);
    } else {
      box.appendChild(el('div', 'thumb none', it.status));
    }
    var title = el('h2', 'title');
    title.appendChild(el('span', 'id', it.variant ? it.id + ' #' + it.variant : it.id));
    title.appendChild(el('span', 'status', it.skipped ? 'already on disk' : it.status));
    if (isSimplified(it)) title.appendChild(el('span', 'simplified-mark', 'simplified'));
    box.appendChild(title);
    if (it.prompts.length) box.appendChild(el('p', 'prompt', it.prompts[it.prompts.length - 1]));
    box.appendChild(el('p', 'meta', metaLine(it)));
    if (it.status !== 'succeeded' && it.error) {
      var reason = el('p', 'reason', it.error);
      if (it.errorType) reason.setAttribute('data-type', it.errorType);
      box.appendChild(reason);
    }
    if (isSimplified(it)) {
      var tried = el('ol', 'prompts');
      tried.setAttribute('aria-label', 'prompts tried');
      it.prompts.forEach(function (p) { tried.appendChild(el('li', null, p)); });
      box.appendChild(el('p', 'label', 'Prompts tried:'));
      box.appendChild(tried);
    }
    if (it.tried && it.tried.length) {
      var via = it.tried.map(function (t) { return t.provider + (t.reason ? ' (' + t.reason + ')' : ''); });
      box.appendChild(el('p', 'tried', 'Providers tried: ' + via.join(', ')));
    }
    return box;
  }

  function renderCard(card) {
    if (!card.group) return renderItem(card.items[0]);
    var box = el('section', 'group');
    box.setAttribute('data-group', card.group);
    box.appendChild(el('h2', 'group-title', card.group + ': ' + card.items.length + ' variants'));
    var row = el('div', 'variants');
    card.items.forEach(function (it) { row.appendChild(renderItem(it)); });
    box.appendChild(row);
    return box;
  }

  function renderPager(holder, pages) {
    var prev = el('button', 'prev', '\u2039 Previous');
    var next = el('button', 'next', 'Next \u203a');
    prev.type = next.type = 'button';
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    prev.addEventListener('click', function () { state.page--; render(); window.scrollTo(0, 0); });
    next.addEventListener('click', function () { state.page++; render(); window.scrollTo(0, 0); });
    holder.replaceChildren(prev, el('span', 'page-of', 'page ' + (state.page + 1) + ' of ' + pages), next);
    holder.hidden = pages <= 1;
  }

  function render() {
    var cards = cardsOf(items.filter(FILTERS[state.filter]));
    var pages = Math.max(1, Math.ceil(cards.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    document.querySelectorAll('#filters .filter').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-filter') === state.filter));
    });
    var shown = cards.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
    var grid = document.getElementById('grid');
    grid.replaceChildren.apply(grid, shown.map(renderCard));
    if (!shown.length) grid.appendChild(el('p', 'empty', 'Nothing to show here.'));
    renderPager(document.getElementById('pager-top'), pages);
    renderPager(document.getElementById('pager-bottom'), pages);
  }

  renderHeader();
  renderFilters();
  render();
})();
`;
