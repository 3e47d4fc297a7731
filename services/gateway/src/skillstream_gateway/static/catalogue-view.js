// The TGA catalogue (#/catalogue[/<tab>][?search=&status=&downloaded=&state=&package=&page=]): what TGA lists, page by
// page, with each component's local state (GET /api/<tab>/available → CataloguePage), the downloaded counts
// (GET /api/catalogue/stats), bulk downloads (POST /api/<tab>/bulk-download → the job's page) and the catalogue
// refresh job (POST /api/jobs {kind: "tga.refresh-catalogue"}), followed here over that job's event stream.
// Filters live in the URL (history.replaceState: no remount), so "back" from a unit page restores them.

import { api, jobOf } from './api.js';
import { DOWNLOADED, headRow, itemRow, PACKAGE_RE, parseState, refreshFollower, STATES, STATUSES, stateQuery, statsStrip, TABS } from './catalogue-parts.js';
import { h, replace, setAttr, setText, uid } from './dom.js';
import { fmtDateTime, fmtInt, fmtRelative } from './format.js';
import { isEnded } from './progress.js';
import { emptyState, failure, loading, problemBox } from './ui.js';

const DEBOUNCE_MS = 300;
const MAX_CODES = 1000; // BulkDownloadBody.codes: 1..1000
const REFRESH_KIND = 'tga.refresh-catalogue';

function select(id, label, options, value, testid) {
  const el = h('select', { id, 'data-testid': testid }, options.map(([v, text]) => h('option', { value: v, text, selected: v === value })));
  return [h('div', { class: 'field' }, h('label', { class: 'field__label', for: id, text: label }), el), el];
}

export function mountCatalogueView(container, ctx, tabId, query) {
  let state = parseState(tabId, query);
  let tab = TABS.find((t) => t.id === state.tab);
  let data = null;
  let seq = 0;
  let timer = 0;
  let ticks = 0;
  let destroyed = false;
  const selected = new Set();

  const titleId = uid('cat-title');
  const refreshedEl = h('p', { class: 'muted small', 'data-testid': 'catalogue-refreshed' });
  const refreshBtn = h('button', { type: 'button', class: 'btn btn--secondary btn--small', 'data-testid': 'catalogue-refresh-again', hidden: true, text: 'Refresh catalogue' });
  const pageProblem = problemBox({ testid: 'catalogue-problem' });
  const stats = statsStrip();
  const notLoadedBtn = h('button', { type: 'button', class: 'btn btn--primary', 'data-testid': 'catalogue-refresh-start', text: 'Refresh from TGA' });
  const notLoaded = h(
    'div',
    { class: 'empty cat-not-loaded', hidden: true, 'data-testid': 'catalogue-not-loaded' },
    h('p', { class: 'empty__title', text: 'Catalogue not loaded' }),
    h('p', { class: 'muted', text: 'The list of what TGA publishes has not been fetched yet.' }),
    notLoadedBtn,
  );
  const refresh = refreshFollower(ctx, (view, jobIdEnded) => {
    if (view.status !== 'completed') {
      // The panel stays, with the failed badge and its link to the job's failures.
      pageProblem.message(`The catalogue refresh ${view.status === 'cancelled' ? 'was cancelled' : 'failed'}`, `Job ${jobIdEnded} has the details.`);
      if (data) render();
      return;
    }
    refresh.hide();
    stats.load();
    load();
  });

  // --- filters ---
  const tabButtons = TABS.map((t) =>
    h('button', { type: 'button', role: 'tab', id: `cat-tab-${t.id}`, 'aria-controls': 'cat-panel', 'data-tab': t.id, 'data-testid': `catalogue-tab-${t.id}`, text: t.label }),
  );
  const tabList = h('div', { class: 'cat-tabs', role: 'tablist', 'aria-label': 'Component types' }, tabButtons);
  const searchInput = h('input', { type: 'search', id: uid('cat-search'), maxlength: 100, value: state.search, autocomplete: 'off', placeholder: 'e.g. BSB or "leadership"', 'data-testid': 'catalogue-search' });
  const [statusField, statusSelect] = select(uid('cat-status'), 'Status', STATUSES, state.status, 'catalogue-status');
  const [downloadedField, downloadedSelect] = select(uid('cat-dl'), 'Downloaded', DOWNLOADED, state.downloaded, 'catalogue-downloaded');
  const [stateField, stateSelect] = select(uid('cat-state'), 'State', STATES, state.state, 'catalogue-state-filter');
  const pkgInput = h('input', { type: 'text', id: uid('cat-pkg'), maxlength: 10, value: state.pkg, autocomplete: 'off', placeholder: 'e.g. BSB', pattern: '[A-Za-z0-9]{2,10}', title: '2 to 10 letters or digits', 'data-testid': 'catalogue-package' });
  const pkgField = h('div', { class: 'field cat-pkg' }, h('label', { class: 'field__label', for: pkgInput.id, text: 'Training package' }), pkgInput);
  const filters = h(
    'form',
    { class: 'cat-filters', role: 'search', 'aria-label': 'Filter the catalogue' },
    h('div', { class: 'field cat-search' }, h('label', { class: 'field__label', for: searchInput.id, text: 'Search code or title' }), searchInput),
    statusField,
    downloadedField,
    stateField,
    pkgField,
  );

  // --- table and actions ---
  const countEl = h('p', { class: 'muted small', 'aria-live': 'polite', 'data-testid': 'catalogue-count' });
  const downloadBtn = h('button', { type: 'button', class: 'btn btn--primary', 'data-testid': 'catalogue-download', disabled: true });
  const clearBtn = h('button', { type: 'button', class: 'btn btn--ghost btn--small', hidden: true, text: 'Clear selection' });
  const actionProblem = problemBox({ testid: 'catalogue-action-problem' });
  const selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all on this page', 'data-testid': 'catalogue-select-page' });
  const head = h('thead');
  const body = h('tbody');
  const table = h('table', { class: 'table cat-table', 'data-testid': 'catalogue-table' }, head, body);
  const tableWrap = h('div', { class: 'table-wrap', hidden: true }, table);
  const statusEl = h('div', { class: 'cat-status', 'aria-live': 'polite' });
  const prevBtn = h('button', { type: 'button', class: 'btn btn--secondary btn--small', 'data-testid': 'catalogue-prev', text: '← Previous' });
  const nextBtn = h('button', { type: 'button', class: 'btn btn--secondary btn--small', 'data-testid': 'catalogue-next', text: 'Next →' });
  const pageEl = h('span', { class: 'muted small', 'data-testid': 'catalogue-page' });
  const pager = h('nav', { class: 'cat-pager', 'aria-label': 'Pages', hidden: true }, prevBtn, pageEl, nextBtn);
  const actions = h('div', { class: 'cat-actions' }, countEl, h('div', { class: 'cat-actions__buttons' }, clearBtn, downloadBtn));
  const panel = h('div', { id: 'cat-panel', role: 'tabpanel', class: 'cat-panel' }, filters, actions, actionProblem.el, statusEl, notLoaded, tableWrap, pager);

  replace(
    container,
    h(
      'section',
      { class: 'catalogue', 'aria-labelledby': titleId },
      h('div', { class: 'page-head' }, h('div', {}, h('h1', { id: titleId, tabindex: '-1', text: 'TGA catalogue' }), refreshedEl), refreshBtn),
      ctx.takeFlash(),
      pageProblem.el,
      stats.el,
      refresh.el,
      tabList,
      panel,
    ),
  );

  function renderChrome() {
    tab = TABS.find((t) => t.id === state.tab);
    for (const b of tabButtons) {
      const on = b.dataset.tab === state.tab;
      setAttr(b, 'aria-selected', String(on));
      setAttr(b, 'tabindex', on ? null : '-1');
    }
    setAttr(panel, 'aria-labelledby', `cat-tab-${state.tab}`);
    setAttr(table, 'aria-labelledby', `cat-tab-${state.tab}`);
    pkgField.hidden = !tab.byPackage;
    downloadBtn.hidden = !tab.bulk;
    const n = selected.size;
    setText(downloadBtn, `Download selected (${fmtInt(n)})`);
    downloadBtn.disabled = n === 0 || n > MAX_CODES;
    setAttr(downloadBtn, 'title', n > MAX_CODES ? `At most ${fmtInt(MAX_CODES)} at a time` : null);
    clearBtn.hidden = n === 0;
    const boxes = [...body.querySelectorAll('input[type=checkbox]')];
    const on = boxes.filter((b) => b.checked).length;
    selectAll.checked = boxes.length > 0 && on === boxes.length;
    selectAll.indeterminate = on > 0 && on < boxes.length;
  }

  function render() {
    const loaded = Boolean(data.refreshed_at);
    setText(refreshedEl, loaded ? `${tab.label} refreshed from TGA ${fmtRelative(data.refreshed_at)}` : '');
    setAttr(refreshedEl, 'title', loaded ? fmtDateTime(data.refreshed_at) : null);
    refreshBtn.hidden = !loaded || refresh.running;
    refreshBtn.disabled = refresh.running;
    notLoaded.hidden = loaded || data.total > 0 || refresh.running;
    filters.hidden = actions.hidden = !loaded && data.total === 0; // nothing to filter or pick yet
    notLoadedBtn.disabled = refresh.running;
    replace(head, headRow(tab, selectAll));
    body.replaceChildren(...data.items.map((item) => itemRow(tab, item, selected)));
    tableWrap.hidden = data.items.length === 0;
    const pages = Math.max(1, Math.ceil(data.total / data.page_size));
    const first = (data.page - 1) * data.page_size + 1;
    setText(countEl, data.total ? `${fmtInt(first)}–${fmtInt(first + data.items.length - 1)} of ${fmtInt(data.total)} ${tab.noun}` : '');
    if (!data.items.length && (loaded || data.total > 0)) replace(statusEl, emptyState(`No ${tab.noun} match`, data.total > 0 ? 'This page is past the end.' : 'Try another search or filter.'));
    else statusEl.replaceChildren();
    pager.hidden = pages <= 1;
    setText(pageEl, `Page ${fmtInt(data.page)} of ${fmtInt(pages)}`);
    prevBtn.disabled = data.page <= 1;
    nextBtn.disabled = data.page >= pages;
    renderChrome();
  }

  async function load() {
    const mine = ++seq;
    history.replaceState(null, '', `#/catalogue/${state.tab}${stateQuery(state) ? `?${stateQuery(state)}` : ''}`);
    table.setAttribute('aria-busy', 'true');
    if (!data) replace(statusEl, loading(`Loading ${tab.noun}…`));
    try {
      const { data: page } = await api('GET', `api/${state.tab}/available?${stateQuery(state, { api: true })}`);
      if (destroyed || mine !== seq) return;
      data = page;
      pageProblem.clear();
      render();
    } catch (error) {
      if (destroyed || mine !== seq || error.status === 401) return;
      data = null;
      tableWrap.hidden = pager.hidden = notLoaded.hidden = true;
      replace(statusEl, failure(error, { what: `the ${tab.noun} catalogue` }));
    } finally {
      if (mine === seq) table.removeAttribute('aria-busy');
    }
  }

  function change(patch, { keepSelection = true } = {}) {
    state = { ...state, page: 1, ...patch };
    if (!keepSelection) selected.clear();
    actionProblem.clear();
    renderChrome();
    load();
  }

  async function startRefresh() {
    pageProblem.clear();
    notLoadedBtn.disabled = refreshBtn.disabled = true;
    try {
      const { data: accepted } = await api('POST', 'api/jobs', { body: { kind: REFRESH_KIND, parameters: {} } });
      if (destroyed) return;
      notLoaded.hidden = refreshBtn.hidden = true;
      refresh.follow(jobOf(accepted));
    } catch (error) {
      if (error.status !== 401) pageProblem.show(error);
    } finally {
      notLoadedBtn.disabled = refreshBtn.disabled = refresh.running;
    }
  }

  // --- events ---
  tabList.addEventListener('click', (event) => {
    const b = event.target.closest('[role=tab]');
    if (b && b.dataset.tab !== state.tab) {
      data = null;
      tableWrap.hidden = pager.hidden = true;
      body.replaceChildren();
      setText(countEl, '');
      change({ tab: b.dataset.tab }, { keepSelection: false });
    }
  });
  tabList.addEventListener('keydown', (event) => {
    // ARIA tabs pattern: arrows / Home / End move between tabs and activate them.
    const at = tabButtons.findIndex((b) => b.dataset.tab === state.tab);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabButtons.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const b = tabButtons[(to + tabButtons.length) % tabButtons.length];
    b.focus();
    b.click();
  });
  filters.addEventListener('submit', (event) => event.preventDefault());
  // One debounce for both text fields, reading both when it fires, so typing in one never drops the other.
  const typed = () => {
    const pkg = pkgInput.value.trim();
    const valid = pkg === '' || PACKAGE_RE.test(pkg);
    setAttr(pkgInput, 'aria-invalid', valid ? null : 'true');
    clearTimeout(timer);
    timer = setTimeout(() => change({ search: searchInput.value, ...(valid ? { pkg: pkg.toUpperCase() } : {}) }), DEBOUNCE_MS);
  };
  searchInput.addEventListener('input', typed);
  pkgInput.addEventListener('input', typed);
  statusSelect.addEventListener('change', () => change({ status: statusSelect.value }));
  downloadedSelect.addEventListener('change', () => change({ downloaded: downloadedSelect.value }));
  stateSelect.addEventListener('change', () => change({ state: stateSelect.value }));
  body.addEventListener('change', (event) => {
    const box = event.target;
    if (!box.dataset.code) return;
    if (box.checked) selected.add(box.dataset.code);
    else selected.delete(box.dataset.code);
    box.closest('tr').classList.toggle('is-selected', box.checked);
    renderChrome();
  });
  selectAll.addEventListener('change', () => {
    for (const box of body.querySelectorAll('input[type=checkbox]')) {
      box.checked = selectAll.checked;
      if (box.checked) selected.add(box.dataset.code);
      else selected.delete(box.dataset.code);
      box.closest('tr').classList.toggle('is-selected', box.checked);
    }
    renderChrome();
  });
  clearBtn.addEventListener('click', () => {
    selected.clear();
    for (const box of body.querySelectorAll('input[type=checkbox]')) box.checked = false;
    for (const tr of body.querySelectorAll('tr.is-selected')) tr.classList.remove('is-selected');
    renderChrome();
  });
  downloadBtn.addEventListener('click', async () => {
    actionProblem.clear();
    downloadBtn.disabled = true;
    try {
      const { data: accepted } = await api('POST', `api/${state.tab}/bulk-download`, { body: { codes: [...selected] } });
      ctx.flash(`Downloading ${fmtInt(selected.size)} ${selected.size === 1 ? tab.one : tab.noun}.`, 'success');
      ctx.navigate(`#/jobs/${encodeURIComponent(jobOf(accepted).job_id)}`);
    } catch (error) {
      if (error.status !== 401) actionProblem.show(error);
      renderChrome();
    }
  });
  prevBtn.addEventListener('click', () => change({ page: Math.max(1, state.page - 1) }));
  nextBtn.addEventListener('click', () => change({ page: state.page + 1 }));
  notLoadedBtn.addEventListener('click', startRefresh);
  refreshBtn.addEventListener('click', startRefresh);

  renderChrome();
  stats.load();
  load();
  // A refresh already running (started elsewhere, or before leaving this page) is followed here too.
  api('GET', 'api/jobs?limit=50').then(
    ({ data: list }) => {
      const running = (list.items || []).find((j) => j.kind === REFRESH_KIND && !isEnded(j.status));
      if (running && !destroyed && !refresh.running) {
        refresh.follow(running);
        refreshBtn.hidden = true;
        notLoadedBtn.disabled = true;
      }
    },
    () => {},
  );

  return {
    title: 'Catalogue',
    tick(now) {
      ticks += 1;
      if (data?.refreshed_at && ticks % 30 === 0) setText(refreshedEl, `${tab.label} refreshed from TGA ${fmtRelative(data.refreshed_at, now)}`);
    },
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      refresh.destroy();
    },
  };
}
