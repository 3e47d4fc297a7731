// Pieces of the TGA catalogue page (catalogue-view.js): its tabs, URL state, the stats strip, the refresh job
// follower and the table's rows. Reply shapes: skillstream_contracts.tga_queries (CataloguePage, CatalogueStats).

import { api, LiveStream } from './api.js';
import { h, replace, setAttr, setText } from './dom.js';
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
// CatalogueItem.state (tga_queries.LocalState): what is held locally of each component.
export const STATES = [
  ['', 'Any state'],
  ['downloaded', 'Downloaded with content'],
  ['metadata_only', 'Metadata only'],
  ['failed', 'Failed'],
  ['not_downloaded', 'Not downloaded'],
];
const STATE_BADGE = {
  downloaded: ['completed', 'Processed'],
  metadata_only: ['queued', 'Metadata only'],
  failed: ['failed', 'Failed'],
};
const STATS = [
  ['training_packages', 'Training packages'],
  ['qualifications', 'Qualifications'],
  ['skill_sets', 'Skill sets'],
  ['units', 'Units'],
  ['elements', 'Elements'],
  ['performance_criteria', 'Performance criteria'],
];
const TAB_OF_TYPE = { training_package: 'training-packages', qualification: 'qualifications', unit: 'units', skill_set: 'skill-sets' };

/** The page's state from the route's tab and query string; unknown values fall back to the defaults. */
export function parseState(tab, query) {
  const q = new URLSearchParams(query);
  const pick = (name, options) => (options.some(([v]) => v && v === q.get(name)) ? q.get(name) : '');
  return {
    tab: (TABS.find((t) => t.id === tab) || TABS[0]).id,
    search: (q.get('search') || '').slice(0, 100),
    status: pick('status', STATUSES),
    downloaded: pick('downloaded', DOWNLOADED),
    state: pick('state', STATES),
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
  if (s.state) q.set('state', s.state);
  if (s.pkg && s.tab === 'units') q.set(forApi ? 'training_package' : 'package', s.pkg);
  if (s.page > 1 || forApi) q.set('page', String(s.page));
  if (forApi) q.set('page_size', String(PAGE_SIZE));
  return q.toString();
}

/** Where the catalogue lists `code` of component type `type` in the failed state (its tab, searched). */
export function failedHref(type, code) {
  const tab = TAB_OF_TYPE[type] || 'training-packages';
  return `#/catalogue/${tab}?${new URLSearchParams({ search: code, state: 'failed' })}`;
}

/** The list of failed components (CatalogueStats.failed): code (linked to its row), type, kind and reason. */
function failedList(failed) {
  return h(
    'ul',
    { class: 'cat-failed', 'data-testid': 'failed-list' },
    failed.map((f) =>
      h(
        'li',
        { 'data-testid': 'failed-item', 'data-code': f.code, 'data-kind': f.kind },
        h('a', { href: failedHref(f.component_type, f.code) }, h('code', { text: f.code })),
        h('span', { class: 'muted small', text: ` ${humanize(f.component_type)} · ${f.kind === 'download' ? 'download failed' : humanize(f.kind)}: ` }),
        h('span', { 'data-testid': 'failed-reason', text: f.reason }),
      ),
    ),
  );
}

/** The "downloaded" strip: components and parsed content held locally, metadata-only components (linked to
 * their list), failures by kind with every failed component listed below (code, kind, reason). */
export function statsStrip() {
  const values = {};
  const failures = h('a', { href: '#catalogue-failures', 'data-testid': 'stat-failures', text: DASH });
  const metadataOnly = h('a', { 'data-testid': 'stat-metadata-only', text: DASH });
  const failedBody = h('div');
  const failedPanel = h(
    'details',
    { class: 'card cat-failures', id: 'catalogue-failures', hidden: true, 'data-testid': 'catalogue-failures' },
    h('summary', { 'data-testid': 'catalogue-failures-summary' }),
    failedBody,
  );
  const dl = h(
    'dl',
    { class: 'cat-stats', 'aria-label': 'Downloaded so far', 'data-testid': 'catalogue-stats' },
    STATS.map(([key, label]) => {
      values[key] = h('dd', { 'data-testid': `stat-${key}`, text: DASH });
      return h('div', { class: 'cat-stat' }, h('dt', { text: label }), values[key]);
    }),
    h('div', { class: 'cat-stat', title: 'Downloaded without content: TGA lists no content file for the release' }, h('dt', { text: 'Metadata only' }), h('dd', {}, metadataOnly)),
    h('div', { class: 'cat-stat cat-stat--failures' }, h('dt', { text: 'Failures' }), h('dd', {}, failures)),
  );
  failures.addEventListener('click', () => {
    failedPanel.open = true;
  });
  return {
    el: h('div', {}, dl, failedPanel),
    async load() {
      try {
        const { data } = await api('GET', 'api/catalogue/stats');
        for (const [key] of STATS) setText(values[key], fmtInt(data[key] ?? 0));
        const bare = Object.entries(data.metadata_only || {}).sort((a, b) => b[1] - a[1]);
        const bareTotal = bare.reduce((n, [, count]) => n + count, 0);
        setText(metadataOnly, fmtInt(bareTotal));
        setAttr(metadataOnly, 'href', bare.length ? `#/catalogue/${TAB_OF_TYPE[bare[0][0]]}?state=metadata_only` : null);
        setAttr(metadataOnly, 'title', bare.length ? bare.map(([type, count]) => `${humanize(type)}: ${fmtInt(count)}`).join('\n') : null);
        const list = data.failures || [];
        const total = list.reduce((n, f) => n + (f.count || 0), 0);
        setText(failures, fmtInt(total));
        failures.closest('.cat-stat').classList.toggle('is-bad', total > 0);
        setAttr(failures, 'title', list.length ? list.map((f) => `${f.failure ? humanize(f.failure) : 'Download'}: ${fmtInt(f.count)}`).join('\n') : null);
        const failed = data.failed || [];
        failedPanel.hidden = failed.length === 0;
        const more = total > failed.length ? ` (the ${fmtInt(failed.length)} latest listed)` : '';
        setText(failedPanel.querySelector('summary'), `${fmtInt(total)} failed ${total === 1 ? 'component' : 'components'}${more}`);
        replace(failedBody, failedList(failed));
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
    h('th', { scope: 'col', text: 'State' }),
    h('th', { scope: 'col', text: 'Failure' }),
  );
}

/** What is held of `item`: processed, metadata only (with the reason), failed, or nothing yet. */
function stateCell(item) {
  const [badge, label] = STATE_BADGE[item.state] || [null, null];
  const why = item.state === 'metadata_only' ? item.metadata_only_reason : null;
  return h(
    'td',
    { class: 'cat-state', 'data-testid': 'catalogue-state', 'data-state': item.state || 'not_downloaded', title: why },
    badge ? h('span', { class: `badge badge--${badge}`, text: label }) : [h('span', { class: 'muted', 'aria-hidden': 'true', text: DASH }), h('span', { class: 'visually-hidden', text: 'Not downloaded' })],
    why ? h('span', { class: 'muted small', 'data-testid': 'catalogue-metadata-only-reason', text: ` ${why}` }) : null,
  );
}

/** The release number, else the release date TGA states (training packages), else a dash. */
function releaseText(item) {
  if (item.release) return item.release;
  return item.release_date ? `released ${item.release_date}` : DASH;
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
    { 'data-testid': 'catalogue-row', 'data-code': item.code, 'data-downloaded': String(item.downloaded), 'data-state': item.state, class: selected.has(item.code) ? 'is-selected' : null },
    box ? h('td', { class: 'cat-check' }, box) : null,
    h('th', { scope: 'row', class: 'cat-code' }, linkable ? h('a', { href: `#/${tab.page}/${encodeURIComponent(item.code)}`, 'data-testid': 'catalogue-open' }, h('code', { text: item.code })) : h('code', { text: item.code })),
    h('td', { class: 'cat-title' }, h('span', { text: item.title }), item.description ? h('p', { class: 'muted small', 'data-testid': 'catalogue-description', title: item.description, text: item.description.length > 200 ? `${item.description.slice(0, 199)}…` : item.description }) : null),
    tab.id === 'training-packages' ? null : h('td', { text: item.training_package || DASH }),
    h('td', {}, usageBadge(item.usage_recommendation)),
    h('td', { 'data-testid': 'catalogue-release', text: releaseText(item) }),
    h('td', { class: 'cat-state', title: item.downloaded_at ? fmtDateTime(item.downloaded_at) : null }, tick(item.downloaded, 'Downloaded'), item.downloaded_at ? h('span', { class: 'muted small', text: ` ${fmtRelative(item.downloaded_at)}` }) : null),
    stateCell(item),
    h(
      'td',
      { class: 'cat-failure', 'data-testid': 'catalogue-failure', 'data-kind': item.failure_kind || null },
      item.failure ? [h('strong', { class: 'small', text: `${item.failure_kind === 'download' ? 'Download failed' : humanize(item.failure_kind || 'failed')}: ` }), h('span', { text: item.failure })] : null,
    ),
  );
}
