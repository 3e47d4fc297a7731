// The job list (#/jobs): newest first, live over GET /api/events, with the start form beside it.

import { api, jobOf, LiveStream } from './api.js';
import { h, replace, setAttr, setText } from './dom.js';
import { fmtDateTime, fmtInt, fmtPercent, fmtRelative, shortId } from './format.js';
import { counters, currentItems, jobView, progressBar, stats, statusBadge } from './progress.js';
import { startPanel } from './start-form.js';
import { emptyState, failure, loading, problemBox } from './ui.js';

const FILTERS = [
  ['all', 'All jobs'],
  ['active', 'Active'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
  ['cancelled', 'Cancelled'],
];

function matchesFilter(view, filter, kind) {
  if (kind && view.kind !== kind) return false;
  if (filter === 'all') return true;
  if (filter === 'active') return !view.ended;
  return view.status === filter;
}

function jobRow(id, ctx) {
  const href = `#/jobs/${encodeURIComponent(id)}`;
  const title = h('a', { class: 'job-row__title', href });
  const idEl = h('code', { class: 'job-row__id', title: id, text: shortId(id) });
  const badge = statusBadge();
  const by = h('span', { class: 'job-row__by' });
  const when = h('time', { class: 'job-row__when' });
  const pct = h('span', { class: 'job-row__pct' });
  const bar = progressBar();
  const ctr = counters();
  const st = stats({ withBytes: true, column: true });
  const cur = currentItems();
  const reason = h('p', { class: 'job-row__reason', hidden: true });
  const el = h(
    'article',
    { class: 'job-row', 'data-testid': 'job-row', 'data-job-id': id },
    h(
      'div',
      { class: 'job-row__main' },
      h(
        'div',
        { class: 'job-row__head' },
        h('div', { class: 'job-row__name' }, title, idEl),
        badge.el,
        h('div', { class: 'job-row__meta' }, by, when),
      ),
      h('div', { class: 'job-row__progress' }, bar.el, pct),
      ctr.el,
      cur.el,
      reason,
    ),
    st.el,
  );
  let view = null;
  return {
    el,
    update(entry) {
      view = jobView(entry);
      const kindTitle = ctx.kindTitle(view.kind);
      setText(title, kindTitle);
      setAttr(bar.el, 'aria-label', `Progress of ${kindTitle} ${shortId(id)}`);
      badge.update(view);
      setText(by, view.requestedBy ? `by ${view.requestedBy}` : '');
      setAttr(when, 'datetime', view.requestedAt);
      setAttr(when, 'title', view.requestedAt ? `Requested ${fmtDateTime(view.requestedAt)}` : null);
      setText(pct, view.total == null && !view.ended ? `${fmtInt(view.succeeded + view.failed + view.skipped)} done` : fmtPercent(view.percent));
      bar.update(view);
      ctr.update(view);
      st.update(view);
      cur.update(view);
      const why = entry.job?.reason;
      reason.hidden = !(why && view.status === 'failed');
      setText(reason, why || '');
      el.dataset.status = view.status;
      this.tick(Date.now());
      return view;
    },
    tick(now) {
      if (!view) return;
      st.tick(now);
      setText(when, view.requestedAt ? fmtRelative(view.requestedAt, now) : '');
    },
    view: () => view,
  };
}

export function mountJobsView(container, ctx) {
  const entries = new Map(); // job_id → {job, progress, receivedAt, row, view}
  const dirty = new Set();
  let frame = 0;
  let filter = 'all';
  let kindFilter = '';
  let nextCursor = null;
  let loaded = false;
  let stream = null;
  let destroyed = false;

  const list = h('div', { class: 'job-list', 'aria-live': 'off' });
  const status = h('div', { class: 'job-list__status' }, loading('Loading jobs…'));
  const count = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'btn btn--secondary', hidden: true, text: 'Load older jobs' });
  const moreProblem = problemBox();
  const filterSelect = h(
    'select',
    { id: 'job-filter', 'aria-label': 'Show', 'data-testid': 'job-filter' },
    FILTERS.map(([value, label]) => h('option', { value, text: label })),
  );
  const kindSelect = h('select', { id: 'job-kind-filter', 'aria-label': 'Job kind', 'data-testid': 'job-kind-filter' }, h('option', { value: '', text: 'All kinds' }));

  const filters = h('div', { class: 'filters' }, kindSelect, filterSelect);
  const main = h(
    'section',
    { class: 'jobs', 'aria-labelledby': 'jobs-title' },
    h(
      'div',
      { class: 'page-head' },
      h('div', {}, h('h1', { id: 'jobs-title', tabindex: '-1', text: 'Jobs' }), count),
      filters,
    ),
    ctx.takeFlash(),
    status,
    list,
    moreProblem.el,
    h('div', { class: 'job-list__more' }, more),
  );
  const aside = h('aside', { class: 'jobs-aside', 'aria-label': 'Start a job' }, startPanel(ctx).el);
  const layout = h('div', { class: 'jobs-layout' }, main, aside);
  replace(container, layout);

  ctx.kinds().then(
    (kinds) => {
      if (destroyed) return;
      for (const k of kinds) kindSelect.append(h('option', { value: k.kind, text: k.title || k.kind }));
      for (const entry of entries.values()) dirty.add(entry);
      schedule();
    },
    () => {},
  );

  function entryFor(id) {
    let entry = entries.get(id);
    if (!entry) {
      entry = { id, job: null, progress: null, receivedAt: Date.now(), row: jobRow(id, ctx), fetching: false };
      entries.set(id, entry);
    }
    return entry;
  }

  function acceptProgress(progress) {
    const entry = entryFor(progress.job_id);
    if (entry.progress && (progress.sequence ?? 0) < (entry.progress.sequence ?? 0)) return;
    entry.progress = progress;
    entry.receivedAt = Date.now();
    dirty.add(entry);
    if (!entry.job && !entry.fetching && loaded) fetchJob(entry);
    schedule();
  }

  function acceptJob(job) {
    const entry = entryFor(job.job_id);
    const { progress, ...rest } = job;
    entry.job = rest;
    if (progress) acceptProgress(progress);
    dirty.add(entry);
    schedule();
  }

  async function fetchJob(entry) {
    entry.fetching = true;
    try {
      const { data } = await api('GET', `api/jobs/${encodeURIComponent(entry.id)}`);
      if (!destroyed) acceptJob(jobOf(data));
    } catch {
      /* the progress alone is enough to show the row */
    }
  }

  function schedule() {
    if (!frame && !destroyed) frame = requestAnimationFrame(render);
  }

  function sortKey(entry) {
    return entry.view?.requestedAt || entry.job?.requested_at || entry.progress?.requested_at || '';
  }

  function render() {
    frame = 0;
    if (destroyed) return;
    for (const entry of dirty) entry.view = entry.row.update(entry);
    dirty.clear();
    const ordered = [...entries.values()].sort((a, b) => {
      const ka = sortKey(a);
      const kb = sortKey(b);
      if (ka !== kb) return ka < kb ? 1 : -1;
      return a.id < b.id ? 1 : -1;
    });
    let shown = 0;
    ordered.forEach((entry, index) => {
      const visible = matchesFilter(entry.view, filter, kindFilter);
      entry.row.el.hidden = !visible;
      if (visible) shown += 1;
      if (list.children[index] !== entry.row.el) list.insertBefore(entry.row.el, list.children[index] || null);
    });
    if (!loaded) return;
    const total = entries.size;
    setText(count, total ? (shown === total ? `${fmtInt(total)} jobs` : `${fmtInt(shown)} of ${fmtInt(total)} jobs`) : '');
    if (!total) replace(status, emptyState('No jobs yet', ctx.canManage ? 'Start one with the form on the right; it will appear here and update live.' : 'Jobs you may see will appear here and update live.'));
    else if (!shown) replace(status, emptyState('No jobs match this filter'));
    else status.replaceChildren();
  }

  async function loadPage(cursor) {
    const query = new URLSearchParams({ limit: '50' });
    if (cursor) query.set('cursor', cursor);
    const { data } = await api('GET', `api/jobs?${query}`);
    for (const job of data.items || []) acceptJob(job);
    nextCursor = data.next_cursor || null;
    more.hidden = !nextCursor;
  }

  filterSelect.addEventListener('change', () => {
    filter = filterSelect.value;
    schedule();
  });
  kindSelect.addEventListener('change', () => {
    kindFilter = kindSelect.value;
    schedule();
  });
  more.addEventListener('click', async () => {
    more.disabled = true;
    moreProblem.clear();
    try {
      await loadPage(nextCursor);
    } catch (error) {
      if (error.status !== 401) moreProblem.show(error);
    } finally {
      more.disabled = false;
    }
  });

  (async () => {
    try {
      await loadPage(null);
    } catch (error) {
      if (destroyed || error.status === 401) return;
      replace(status, failure(error, { what: 'the job list' }));
      filters.hidden = true;
      if (error.status === 403 && !ctx.canManage) {
        aside.hidden = true;
        layout.classList.add('jobs-layout--single');
      }
      return;
    }
    if (destroyed) return;
    loaded = true;
    for (const entry of entries.values()) if (!entry.job) fetchJob(entry);
    schedule();
    stream = new LiveStream('api/events', {
      onProgress: acceptProgress,
      onState: ctx.setLive,
      onSignedOut: ctx.signedOut,
    });
    stream.open();
  })();

  return {
    title: 'Jobs',
    tick(now) {
      for (const entry of entries.values()) if (!entry.row.el.hidden) entry.row.tick(now);
    },
    destroy() {
      destroyed = true;
      if (frame) cancelAnimationFrame(frame);
      if (stream) stream.close();
      ctx.setLive(null);
    },
  };
}
