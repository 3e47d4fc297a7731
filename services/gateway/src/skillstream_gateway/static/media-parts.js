// Pieces of the media library page (media-view.js): the summary cards, the "Download all courses" confirmation
// dialog and the per-course table. Reply shapes: services/gateway/README.md "Media library".

import { h, setAttr, setText, uid } from './dom.js';
import { fmtBytes, fmtInt, fmtPercent } from './format.js';
import { progressBar } from './progress.js';
import { problemBox } from './ui.js';

const SUMMARY = [
  ['courses', 'Courses', (s) => fmtInt(s.courses)],
  ['segments', 'Segments', (s) => fmtInt(s.segments)],
  ['storage', 'Estimated storage', (s) => (s.estimated_bytes == null ? 'unknown' : fmtBytes(s.estimated_bytes))],
  ['downloaded', 'Already downloaded', (s) => fmtInt(s.downloaded_segments ?? 0)],
];

/** The library as the catalogue lists it (GET truefire-courses/summary → LibrarySummary). */
export function summaryCards() {
  const values = {};
  const el = h(
    'dl',
    { class: 'cat-stats', 'aria-label': 'Media library', 'data-testid': 'media-summary' },
    SUMMARY.map(([key, label]) => {
      values[key] = h('dd', { 'data-testid': `media-stat-${key}`, text: '—' });
      return h('div', { class: 'cat-stat' }, h('dt', { text: label }), values[key]);
    }),
  );
  return {
    el,
    update(summary) {
      for (const [key, , format] of SUMMARY) setText(values[key], format(summary));
      setAttr(values.storage, 'title', `${summary.quality} quality${summary.source ? ` · catalogue ${summary.source}` : ''}`);
      setAttr(values.downloaded, 'title', `segments written or verified, of ${fmtInt(summary.segments)}`);
    },
  };
}

/**
 * The confirmation dialog of "Download all courses" (a native modal <dialog>). `onConfirm(testMode)` starts the
 * download; when it throws, the problem shows in the dialog and the dialog stays open.
 */
export function confirmDialog(onConfirm) {
  const titleId = uid('media-dialog');
  const testBox = h('input', { type: 'checkbox', id: uid('media-test'), 'data-testid': 'media-test-mode' });
  const what = h('p', { 'data-testid': 'media-confirm-what' });
  const problem = problemBox({ testid: 'media-confirm-problem' });
  const cancel = h('button', { type: 'button', class: 'btn btn--secondary', text: 'Cancel' });
  const confirm = h('button', { type: 'submit', class: 'btn btn--primary', 'data-testid': 'media-confirm', text: 'Start download' });
  const form = h(
    'form',
    { class: 'form', method: 'dialog' },
    h('h2', { id: titleId, class: 'card__title', text: 'Download all courses?' }),
    what,
    h('p', { class: 'muted small', text: 'Segments already downloaded and verified are skipped. Downloads run in the background, at most 10 at a time; you may leave this page.' }),
    h('div', { class: 'field__check' }, testBox, h('label', { for: testBox.id, text: 'Test mode: one course' })),
    problem.el,
    h('div', { class: 'form__actions inline' }, cancel, confirm),
  );
  const el = h('dialog', { class: 'card', 'aria-labelledby': titleId, 'data-testid': 'media-dialog' }, form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.clear();
    confirm.disabled = cancel.disabled = true;
    try {
      await onConfirm(testBox.checked);
      if (el.open) el.close();
    } catch (error) {
      if (error.status !== 401) problem.show(error);
    } finally {
      confirm.disabled = cancel.disabled = false;
    }
  });
  cancel.addEventListener('click', () => el.close());
  return {
    el,
    open(summary) {
      const storage = summary.estimated_bytes == null ? '' : `, about ${fmtBytes(summary.estimated_bytes)}`;
      setText(what, `Every course of the library: ${fmtInt(summary.courses)} courses, ${fmtInt(summary.segments)} segments${storage}.`);
      testBox.checked = false;
      problem.clear();
      el.showModal();
      confirm.focus();
    },
    close() {
      if (el.open) el.close();
    },
  };
}

const STATE_LABEL = { queued: 'Queued', processing: 'Downloading', completed: 'Completed', stopped: 'Stopped' };
const STATE_BADGE = { queued: 'queued', processing: 'running', completed: 'completed', stopped: 'cancelled' };
const COUNTS = ['total', 'succeeded', 'failed', 'skipped'];

/**
 * One row per course of a bulk download. Titles and the service's course state come from bulk-download-status
 * (`setCourses`), live counts from the progress document's groups (`update`); counts only grow, so each counter
 * shows the larger of the two sources, whichever arrived last.
 */
export function courseTable() {
  const rows = new Map();
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'table', 'data-testid': 'media-course-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col', text: 'Course' }),
        h('th', { scope: 'col', class: 'num', text: 'Segments' }),
        h('th', { scope: 'col', class: 'num', text: 'Succeeded' }),
        h('th', { scope: 'col', class: 'num', text: 'Failed' }),
        h('th', { scope: 'col', class: 'num', text: 'Skipped' }),
        h('th', { scope: 'col', class: 'col-bar', text: 'Progress' }),
        h('th', { scope: 'col', text: 'State' }),
      ),
    ),
    body,
  );
  const wrap = h('div', { class: 'table-wrap table-wrap--tall', hidden: true }, table);
  const empty = h('p', { class: 'muted', text: 'The courses appear once the download has read the catalogue.' });
  let jobEnded = false;

  function row(id) {
    let r = rows.get(id);
    if (r) return r;
    const cells = Object.fromEntries(COUNTS.map((k) => [k, h('td', { class: 'num', 'data-testid': `media-course-${k}` })]));
    const bar = progressBar({ label: `Progress of course ${id}` });
    bar.el.removeAttribute('data-testid');
    bar.el.classList.add('bar--mini');
    const title = h('th', { scope: 'row', class: 'group-name', 'data-testid': 'media-course-title' });
    const state = h('span', { 'data-testid': 'media-course-state' });
    const pct = h('span', { class: 'mini-pct' });
    r = {
      id,
      title: null,
      serviceState: 'queued',
      counts: { total: 0, succeeded: 0, failed: 0, skipped: 0 },
      cells,
      bar,
      pct,
      titleEl: title,
      stateEl: state,
      el: h('tr', { 'data-testid': 'media-course-row', 'data-course-id': id }, title, COUNTS.map((k) => cells[k]), h('td', { class: 'col-bar' }, h('div', { class: 'mini' }, bar.el, pct)), h('td', {}, state)),
    };
    rows.set(id, r);
    return r;
  }

  function paint(r) {
    const c = r.counts;
    const done = c.succeeded + c.failed + c.skipped;
    const complete = r.serviceState === 'completed' || (c.total > 0 && done >= c.total);
    let state = 'queued';
    if (complete) state = 'completed';
    else if (jobEnded) state = 'stopped';
    else if (done > 0 || r.serviceState === 'processing') state = 'processing';
    setText(r.titleEl, r.title || `Course ${r.id}`);
    setAttr(r.titleEl, 'title', r.title ? `${r.title} (course ${r.id})` : `Course ${r.id}`);
    for (const k of COUNTS) {
      setText(r.cells[k], fmtInt(c[k]));
      setAttr(r.cells[k], 'data-value', c[k]);
    }
    r.cells.failed.classList.toggle('is-bad', c.failed > 0);
    const percent = c.total > 0 ? Math.min(100, (done / c.total) * 100) : complete ? 100 : 0;
    r.bar.update({ total: c.total, succeeded: c.succeeded, failed: c.failed, skipped: c.skipped, percent, ended: complete || jobEnded, status: complete ? 'completed' : 'running' });
    setText(r.pct, fmtPercent(percent));
    setText(r.stateEl, STATE_LABEL[state]);
    r.stateEl.className = `badge badge--${STATE_BADGE[state]}`;
    setAttr(r.el, 'data-state', state);
  }

  function merge(r, counts) {
    for (const k of COUNTS) r.counts[k] = Math.max(r.counts[k], counts[k] ?? 0);
  }

  function settle(added) {
    if (added) body.replaceChildren(...[...rows.values()].sort((a, b) => Number(a.id) - Number(b.id)).map((r) => r.el));
    wrap.hidden = rows.size === 0;
    empty.hidden = rows.size > 0;
  }

  return {
    el: h('div', {}, empty, wrap),
    get size() {
      return rows.size;
    },
    /** Whether some course is known only by its id (its title has not been fetched yet). */
    get untitled() {
      for (const r of rows.values()) if (!r.title) return true;
      return false;
    },
    clear() {
      rows.clear();
      jobEnded = false;
      body.replaceChildren();
      settle(false);
    },
    /** Courses of bulk-download-status's `course_details`. */
    setCourses(details) {
      const before = rows.size;
      for (const d of details) {
        const r = row(String(d.course_id));
        r.title = d.course_title;
        r.serviceState = d.state || (d.is_processing ? 'processing' : r.serviceState);
        const c = d.counts || {};
        merge(r, { total: d.total_segments ?? c.total, succeeded: c.succeeded ?? d.stats?.success, failed: c.failed ?? d.stats?.failed, skipped: c.skipped ?? d.stats?.skipped });
        paint(r);
      }
      settle(rows.size !== before);
    },
    /** The progress document's `groups` ({course id: {total, succeeded, failed, skipped}}). */
    update(groups, ended) {
      const before = rows.size;
      const endedChanged = ended !== jobEnded;
      jobEnded = ended;
      for (const [id, g] of Object.entries(groups || {})) {
        const r = row(id);
        merge(r, g || {});
        paint(r);
      }
      if (endedChanged) for (const r of rows.values()) paint(r);
      settle(rows.size !== before);
    },
  };
}
