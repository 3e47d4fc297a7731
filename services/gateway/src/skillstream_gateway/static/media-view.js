// The media library (#/media, permission `media.manage`): the TrueFire library's summary (GET
// truefire-courses/summary), "Download all courses" behind a confirmation dialog (POST
// truefire-courses/download-all-courses[?test=true]) and a bulk download (GET truefire-courses/bulk-download-status:
// the latest, or the run picked from the list of runs, GET api/jobs?kind=media.bulk-download), followed live over its job's event stream (GET api/jobs/{id}/events, the
// page's one EventSource): overall bar, counters, bytes, rate, ETA and a row per course. Course titles come from
// the status route (paged; fetched again when courses appear that it did not list yet), live counts from the
// progress document's groups (keyed by course id).

import { api, LiveStream } from './api.js';
import { h, replace, setAttr, setText, uid } from './dom.js';
import { fmtDateTime, fmtInt, fmtPercent, fmtRelative, shortId } from './format.js';
import { confirmDialog, courseTable, summaryCards } from './media-parts.js';
import { counters, isEnded, jobView, progressBar, stats, statusBadge } from './progress.js';
import { emptyState, failure, loading, notice, problemBox } from './ui.js';

const KIND = 'media.bulk-download';
const STATUS_ROUTE = 'truefire-courses/bulk-download-status';
const PAGE = 1000; // the status route's largest page of courses
const RUNS = 50; // bulk downloads listed in the run picker (most recent first)
const MAX_PAGES = 50;
const TITLES_EVERY_MS = 3000; // at most one titles fetch per 3 s while untitled courses show…
const TITLES_TRIES = 100; // …and at most this many per bulk download (the read model may never list a course)

/** A progress document made from bulk-download-status, shown until the event stream's first one arrives. */
function progressOf(s) {
  const c = s.counts || {};
  const done = (c.succeeded || 0) + (c.failed || 0) + (c.skipped || 0);
  const known = (s.courses_total || 0) > 0 || (c.total || 0) > 0;
  return {
    job_id: s.job_id,
    kind: KIND,
    status: s.status,
    sequence: 0,
    total: known ? (c.total ?? 0) : null,
    queued: c.queued || 0,
    processing: c.processing || 0,
    retrying: c.retrying || 0,
    succeeded: c.succeeded || 0,
    failed: c.failed || 0,
    skipped: c.skipped || 0,
    cancelled: c.cancelled || 0,
    percent: c.total > 0 ? (done / c.total) * 100 : isEnded(s.status) ? 100 : 0,
    items_per_second: s.segments_per_second ?? null,
    bytes_per_second: s.bytes_per_second ?? null,
    bytes_done: s.bytes_written || 0,
    eta_seconds: s.eta_seconds ?? null,
    requested_at: s.requested_at,
    finished_at: s.finished_at,
    groups: {},
  };
}

export function mountMediaView(container, ctx) {
  let destroyed = false;
  let stream = null;
  let frame = 0;
  let summary = null;
  let entry = null; // {job, progress, receivedAt, testMode}
  let titlesAt = 0;
  let titlesBusy = false;
  let titlesTimer = 0;
  let titlesTries = 0;

  const titleId = uid('media-title');
  const downloadBtn = h('button', { type: 'button', class: 'btn btn--primary', 'data-testid': 'media-download-all', disabled: true, text: 'Download all courses' });
  const pageProblem = problemBox({ testid: 'media-problem' });
  const noticeHolder = h('div');
  const cards = summaryCards();
  const dialog = confirmDialog(start);
  const statusEl = h('div', {}, loading('Loading the media library…'));
  const none = h('div', { hidden: true, 'data-testid': 'media-none' }, emptyState('No bulk download yet', 'Start one with “Download all courses”.'));

  const badge = statusBadge();
  badge.el.dataset.testid = 'media-status';
  const testTag = h('span', { class: 'tag', hidden: true, 'data-testid': 'media-test-tag', text: 'Test mode' });
  const jobLink = h('a', { text: 'Open the job' });
  const runs = h('select', { class: 'input--small', 'data-testid': 'media-runs', 'aria-label': 'Bulk download run', hidden: true });
  const requested = h('p', { class: 'muted small' });
  const bar = progressBar({ large: true, label: 'Bulk download progress' });
  const bigPct = h('span', { class: 'big-pct' });
  const ofItems = h('span', { class: 'muted' });
  const ctr = counters();
  const st = stats({ withBytes: true });
  const reason = h('div', { class: 'notice notice--error', role: 'status', hidden: true });
  const progressCard = h(
    'section',
    { class: 'card cat-refresh', hidden: true, 'aria-label': 'Bulk download', 'data-testid': 'media-progress' },
    h('div', { class: 'cat-refresh__head' }, h('strong', { text: 'Bulk download' }), badge.el, testTag, jobLink, runs),
    requested,
    reason,
    h('div', { class: 'progress-head' }, bigPct, ofItems),
    bar.el,
    ctr.el,
    st.el,
  );
  const courses = courseTable();
  const coursesCount = h('span', { class: 'muted small', 'data-testid': 'media-course-count' });
  const coursesCard = h(
    'section',
    { class: 'card', hidden: true },
    h('div', { class: 'card__head' }, h('h2', { class: 'card__title', text: 'Courses' }), coursesCount),
    courses.el,
  );

  replace(
    container,
    h(
      'section',
      { class: 'media', 'aria-labelledby': titleId },
      h(
        'div',
        { class: 'page-head' },
        h('div', {}, h('h1', { id: titleId, tabindex: '-1', text: 'Media library' }), h('p', { class: 'muted small', text: 'TrueFire courses, downloaded from the CDN into the storage root.' })),
        downloadBtn,
      ),
      ctx.takeFlash(),
      noticeHolder,
      pageProblem.el,
      cards.el,
      statusEl,
      none,
      progressCard,
      coursesCard,
      dialog.el,
    ),
  );

  function forbidden(error) {
    if (error.status !== 403) return false;
    replace(container, failure(error, { what: 'the media library' }));
    destroyed = true;
    return true;
  }

  function running() {
    return Boolean(entry) && !jobView(entry).ended;
  }

  function renderButton() {
    downloadBtn.disabled = !summary || running();
    setAttr(downloadBtn, 'title', running() ? 'A bulk download is running' : null);
  }

  async function loadSummary() {
    try {
      const { data } = await api('GET', 'truefire-courses/summary');
      if (destroyed) return;
      summary = data;
      cards.update(data);
      renderButton();
    } catch (error) {
      if (destroyed || error.status === 401 || forbidden(error)) return;
      pageProblem.show(error);
    }
  }

  function render() {
    frame = 0;
    if (destroyed || !entry) return;
    const view = jobView(entry);
    badge.update(view);
    testTag.hidden = !entry.testMode;
    jobLink.href = `#/jobs/${encodeURIComponent(view.jobId)}`;
    const by = view.requestedBy ? ` by ${view.requestedBy}` : '';
    setText(requested, `Job ${shortId(view.jobId)} · requested${by} ${fmtRelative(view.requestedAt)}`);
    setAttr(requested, 'title', fmtDateTime(view.requestedAt));
    bar.update(view);
    const done = view.succeeded + view.failed + view.skipped;
    setText(bigPct, view.total == null && !view.ended ? 'Counting segments…' : fmtPercent(view.percent));
    setText(ofItems, view.total == null ? `${fmtInt(done)} segments done` : `${fmtInt(done)} of ${fmtInt(view.total)} segments`);
    ctr.update(view);
    st.update(view);
    const why = entry.job.reason;
    reason.hidden = !why;
    setText(reason, why ? `The download ${view.status === 'failed' ? 'failed' : 'stopped'}: ${why}` : '');
    courses.update(view.groups, view.ended);
    coursesCard.hidden = false;
    setText(coursesCount, courses.size ? `${fmtInt(courses.size)} ${courses.size === 1 ? 'course' : 'courses'}` : '');
    renderButton();
    if (courses.untitled) wantTitles();
    // The stream's own document says the job ended: nothing more will come, so the page's connection closes.
    if (stream && entry.progress?.sequence > 0 && isEnded(entry.progress.status)) {
      stopStream();
      loadSummary(); // "already downloaded" moved
      fetchTitles(view.jobId); // the courses' final states
    }
  }

  function schedule() {
    if (!frame && !destroyed) frame = requestAnimationFrame(render);
  }

  function stopStream() {
    if (stream) stream.close();
    stream = null;
    ctx.setLive(null);
  }

  /** Fetch the titles soon: at once, or when TITLES_EVERY_MS have passed since the last fetch. */
  function wantTitles() {
    if (titlesTimer || titlesBusy || titlesTries >= TITLES_TRIES) return;
    titlesTimer = setTimeout(() => {
      titlesTimer = 0;
      if (entry && !destroyed) fetchTitles(entry.job.job_id);
    }, Math.max(0, titlesAt + TITLES_EVERY_MS - Date.now()));
  }

  /** Every page of the download's courses from the status route (titles and the service's course states). */
  async function fetchTitles(jobId) {
    if (titlesBusy) return;
    titlesBusy = true;
    titlesTries += 1;
    try {
      for (let page = 0, offset = 0; page < MAX_PAGES; page += 1, offset += PAGE) {
        const { data } = await api('GET', `${STATUS_ROUTE}?job_id=${encodeURIComponent(jobId)}&courses_offset=${offset}&courses_limit=${PAGE}`);
        if (destroyed || entry?.job.job_id !== jobId) return;
        courses.setCourses(data.course_details || []);
        if (offset + PAGE >= (data.courses_total || 0)) break;
      }
      schedule();
    } catch {
      /* read model behind the job (404 just after the start) or away: the next progress document tries again */
    } finally {
      titlesBusy = false;
      titlesAt = Date.now();
      if (!destroyed && courses.untitled) wantTitles(); // a course the read model did not list yet, or another job's
    }
  }

  /** Show one bulk download and follow its job's event stream (replacing any stream open before). */
  function follow(job, { status = null, testMode = false } = {}) {
    stopStream();
    courses.clear();
    clearTimeout(titlesTimer);
    titlesTimer = titlesAt = titlesTries = 0;
    entry = { job, progress: status ? progressOf(status) : null, receivedAt: Date.now(), testMode };
    if (status) courses.setCourses(status.course_details || []);
    none.hidden = true;
    progressCard.hidden = false;
    render();
    const jobId = job.job_id;
    stream = new LiveStream(`api/jobs/${encodeURIComponent(jobId)}/events`, {
      onProgress: (p) => {
        if (!entry || p.job_id !== entry.job.job_id || (entry.progress && (p.sequence ?? 0) < (entry.progress.sequence ?? 0))) return;
        entry.progress = p;
        entry.receivedAt = Date.now();
        schedule();
      },
      onState: ctx.setLive,
      onSignedOut: ctx.signedOut,
    });
    stream.open();
  }

  /** Show the bulk download ``jobId`` (null: the latest) from the status route. */
  async function loadRun(jobId = null) {
    try {
      const only = jobId ? `job_id=${encodeURIComponent(jobId)}&` : '';
      const { data } = await api('GET', `${STATUS_ROUTE}?${only}courses_limit=${PAGE}`);
      if (destroyed) return;
      statusEl.replaceChildren();
      const job = { job_id: data.job_id, kind: KIND, status: data.status, requested_by: data.requested_by, requested_at: data.requested_at, finished_at: data.finished_at, reason: data.reason };
      follow(job, { status: data, testMode: data.test_mode });
      if ((data.courses_total || 0) > PAGE) fetchTitles(data.job_id);
      loadRuns(data.job_id);
    } catch (error) {
      if (destroyed || error.status === 401 || forbidden(error)) return;
      statusEl.replaceChildren();
      if (error.status === 404) none.hidden = false;
      else replace(statusEl, failure(error, { what: 'the latest bulk download' }));
    }
  }

  /** The run picker: every recent bulk download (a test-mode run never hides the full run before it). */
  async function loadRuns(selected) {
    try {
      const { data } = await api('GET', `api/jobs?kind=${encodeURIComponent(KIND)}&limit=${RUNS}`);
      if (destroyed) return;
      const items = data.items || [];
      const label = (j) =>
        [fmtDateTime(j.requested_at), j.status, j.parameters?.test_mode ? 'test mode' : 'all courses', shortId(j.job_id)].join(' · ');
      replace(runs, ...items.map((j) => h('option', { value: j.job_id, selected: j.job_id === selected, text: label(j) })));
      runs.hidden = items.length < 2;
    } catch {
      runs.hidden = true; // the list is a convenience: the run shown stays
    }
  }

  async function start(testMode) {
    const { data } = await api('POST', `truefire-courses/download-all-courses?test=${testMode}`);
    if (destroyed) return;
    replace(noticeHolder, notice(data.message, 'success'));
    follow(data.job, { testMode: data.test_mode });
    loadRuns(data.job.job_id);
  }

  runs.addEventListener('change', () => {
    if (runs.value && runs.value !== entry?.job.job_id) loadRun(runs.value);
  });

  downloadBtn.addEventListener('click', () => {
    if (summary && !running()) dialog.open(summary);
  });

  loadSummary();
  loadRun();

  return {
    title: 'Media library',
    tick(now) {
      if (entry) st.tick(now);
    },
    destroy() {
      destroyed = true;
      if (frame) cancelAnimationFrame(frame);
      clearTimeout(titlesTimer);
      stopStream();
      dialog.close();
    },
  };
}
