// Pieces of the TGA catalogue page (catalogue-view.js): its tabs, URL state, the stats strip, the refresh job
// follower and the table's rows. Reply shapes: skillstream_contracts.tga_queries (CataloguePage, CatalogueStats).

import { api, LiveStream } from './api.js';
import { h, setAttr, setText } from './dom.js';
import { DASH, fmtDateTime, fmtInt, fmtRelative, humanize } from './format.js';
import { jobView, progressBar, statusBadge } from './progress.js';
import { usageBadge } from './unit-view.js';

export const PAGE_SIZE = 50;
export const PACKAGE_RE = /^[A-Za-z0-9]{2,10}$/; // the route's training_package pattern

// One tab per component family of the gateway's catalogue routes (catalogue.py _FAMILIES); skill sets have no
// download job. `page`: the route of a downloaded component's page.
export const TABS = [
  { id: 'training-packages', label: 'Training packages', one: 'training package', noun: 'training packages', bulk: true, page: null },
  { id: 'qualifications', label: 'Qualifications', one: 'qualification', noun: 'qualifications', bulk: true, page: 'qualifications' },
  { id: 'units', label: 'Units of competency', one: 'unit of competency', noun: 'units of competency', bulk: true, page: 'units', byPackage: true },
  { id: 'skill-sets', label: 'Skill sets', one: 'skill set', noun: 'skill sets', bulk: false, page: null },
];
export const STATUSES = [['', 'Any status'], ['current', 'Current'], ['superseded', 'Superseded'], ['deleted', 'Deleted']];
export const DOWNLOADED = [['', 'Any'], ['true', 'Downloaded'], ['false', 'Not downloaded']];
const STATS = [
  ['training_packages', 'Training packages'],
  ['qualifications', 'Qualifications'],
  ['skill_sets', 'Skill sets'],
  ['units', 'Units'],
  ['elements', 'Elements'],
  ['performance_criteria', 'Performance criteria'],
];

/** The page's state from the route's tab and query string; unknown values fall back to the defaults. */
export function parseState(tab, query) {
  const q = new URLSearchParams(query);
  const pick = (name, options) => (options.some(([v]) => v && v === q.get(name)) ? q.get(name) : '');
  return {
    tab: (TABS.find((t) => t.id === tab) || TABS[0]).id,
    search: (q.get('search') || '').slice(0, 100),
    status: pick('status', STATUSES),
    downloaded: pick('downloaded', DOWNLOADED),
    pkg: PACKAGE_RE.test(q.get('package') || '') ? q.get('package').toUpperCase() : '',
    page: Math.max(1, Number.parseInt(q.get('page'), 10) || 1),
  };
}

/** The state as the URL's query (`package`) or the available route's (`training_package`, `page_size`). */
export function stateQuery(s, { api: forApi = false } = {}) {
  const q = new URLSearchParams();
  if (s.search.trim()) q.set('search', s.search.trim());
  if (s.status) q.set('status', s.status);
  if (s.downloaded) q.set('downloaded', s.downloaded);
  if (s.pkg && s.tab === 'units') q.set(forApi ? 'training_package' : 'package', s.pkg);
  if (s.page > 1 || forApi) q.set('page', String(s.page));
  if (forApi) q.set('page_size', String(PAGE_SIZE));
  return q.toString();
}

/** The "downloaded" strip: components and parsed content held locally, failures by kind. */
export function statsStrip() {
  const values = {};
  const failures = h('dd', { 'data-testid': 'stat-failures', text: DASH });
  const el = h(
    'dl',
    { class: 'cat-stats', 'aria-label': 'Downloaded so far', 'data-testid': 'catalogue-stats' },
    STATS.map(([key, label]) => {
      values[key] = h('dd', { 'data-testid': `stat-${key}`, text: DASH });
      return h('div', { class: 'cat-stat' }, h('dt', { text: label }), values[key]);
    }),
    h('div', { class: 'cat-stat cat-stat--failures' }, h('dt', { text: 'Failures' }), failures),
  );
  return {
    el,
    async load() {
      try {
        const { data } = await api('GET', 'api/catalogue/stats');
        for (const [key] of STATS) setText(values[key], fmtInt(data[key] ?? 0));
        const list = data.failures || [];
        const total = list.reduce((n, f) => n + (f.count || 0), 0);
        setText(failures, fmtInt(total));
        failures.parentElement.classList.toggle('is-bad', total > 0);
        setAttr(failures, 'title', list.length ? list.map((f) => `${f.failure ? humanize(f.failure) : 'Download'}: ${fmtInt(f.count)}`).join('\n') : null);
      } catch {
        /* the table reports the problem; the strip keeps its dashes */
      }
    },
  };
}

/** The refresh job, followed over its own event stream while it runs (the page's one EventSource). */
export function refreshFollower(ctx, onEnded) {
  const badge = statusBadge();
  badge.el.dataset.testid = 'refresh-status';
  const bar = progressBar({ label: 'Catalogue refresh progress' });
  bar.el.dataset.testid = 'refresh-progress';
  const link = h('a', { text: 'Open the job' });
  const el = h('div', { class: 'card cat-refresh', hidden: true, 'data-testid': 'catalogue-refresh' }, h('div', { class: 'cat-refresh__head' }, h('strong', { text: 'Refreshing the catalogue from TGA' }), badge.el, link), bar.el);
  let stream = null;
  let jobId = null;
  const stop = () => {
    if (stream) stream.close();
    stream = null;
    ctx.setLive(null);
  };
  return {
    el,
    get running() {
      return Boolean(jobId);
    },
    follow(job) {
      stop();
      jobId = job.job_id;
      el.hidden = false;
      link.href = `#/jobs/${encodeURIComponent(jobId)}`;
      const entry = { job, progress: job.progress || null, receivedAt: Date.now() };
      const show = () => {
        const view = jobView(entry);
        badge.update(view);
        bar.update(view);
        if (!view.ended) return;
        stop();
        const ended = jobId;
        jobId = null;
        onEnded(view, ended);
      };
      show();
      if (!jobId) return;
      stream = new LiveStream(`api/jobs/${encodeURIComponent(jobId)}/events`, {
        onProgress: (p) => {
          if (p.job_id !== jobId || (entry.progress && (p.sequence ?? 0) < (entry.progress.sequence ?? 0))) return;
          entry.progress = p;
          entry.receivedAt = Date.now();
          show();
        },
        onState: ctx.setLive,
        onSignedOut: ctx.signedOut,
      });
      stream.open();
    },
    hide() {
      el.hidden = true;
    },
    destroy: stop,
  };
}

/** The table's header row; the select-all checkbox only on tabs with a download job. */
export function headRow(tab, selectAll) {
  return h(
    'tr',
    {},
    tab.bulk ? h('th', { scope: 'col', class: 'cat-check' }, selectAll) : null,
    h('th', { scope: 'col', text: 'Code' }),
    h('th', { scope: 'col', text: 'Title' }),
    tab.id === 'training-packages' ? null : h('th', { scope: 'col', text: 'Package' }),
    h('th', { scope: 'col', text: 'Status' }),
    h('th', { scope: 'col', text: 'Release' }),
    h('th', { scope: 'col', text: 'Downloaded' }),
    h('th', { scope: 'col', text: 'Processed' }),
    h('th', { scope: 'col', text: 'Failure' }),
  );
}

/** One catalogue item; its code links to the component's page once downloaded. */
export function itemRow(tab, item, selected) {
  const box = tab.bulk ? h('input', { type: 'checkbox', 'aria-label': `Select ${item.code}`, checked: selected.has(item.code), 'data-code': item.code }) : null;
  const linkable = tab.page && item.downloaded;
  const tick = (yes, label) => [
    h('span', { class: yes ? 'tick' : 'muted', 'aria-hidden': 'true', text: yes ? '✓' : DASH }),
    h('span', { class: 'visually-hidden', text: yes ? label : `Not ${label.toLowerCase()}` }),
  ];
  return h(
    'tr',
    { 'data-testid': 'catalogue-row', 'data-code': item.code, 'data-downloaded': String(item.downloaded), class: selected.has(item.code) ? 'is-selected' : null },
    box ? h('td', { class: 'cat-check' }, box) : null,
    h('th', { scope: 'row', class: 'cat-code' }, linkable ? h('a', { href: `#/${tab.page}/${encodeURIComponent(item.code)}`, 'data-testid': 'catalogue-open' }, h('code', { text: item.code })) : h('code', { text: item.code })),
    h('td', { class: 'cat-title', text: item.title }),
    tab.id === 'training-packages' ? null : h('td', { text: item.training_package || DASH }),
    h('td', {}, usageBadge(item.usage_recommendation)),
    h('td', { text: item.release || DASH }),
    h('td', { class: 'cat-state', title: item.downloaded_at ? fmtDateTime(item.downloaded_at) : null }, tick(item.downloaded, 'Downloaded'), item.downloaded_at ? h('span', { class: 'muted small', text: ` ${fmtRelative(item.downloaded_at)}` }) : null),
    h('td', { class: 'cat-state' }, tick(item.processed, 'Processed')),
    h('td', { class: 'cat-failure', 'data-testid': 'catalogue-failure', text: item.failure || '' }),
  );
}
