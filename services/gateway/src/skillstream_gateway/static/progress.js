// Job progress widgets shared by the job list and the job page: status badge, bar, counters, rate/ETA/elapsed.

import { h, setAttr, setText } from './dom.js';
import { DASH, fmtBytes, fmtDuration, fmtInt, fmtNumber, fmtPercent, parseTime } from './format.js';

const STATUS_RANK = { requested: 0, queued: 1, running: 2, completed: 3, failed: 3, cancelled: 3 };
const STATUS_LABEL = {
  requested: 'Requested',
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function isEnded(status) {
  return STATUS_RANK[status] === 3;
}

/**
 * One job as the page shows it, merged from the REST `Job` and the latest SSE `JobProgress`.
 * The lifecycle only moves forward, so the further-along status of the two wins.
 */
export function jobView(entry) {
  const job = entry.job || {};
  const p = entry.progress || {};
  let status = p.status || job.status || 'requested';
  if (job.status && (STATUS_RANK[job.status] ?? 0) > (STATUS_RANK[status] ?? 0)) status = job.status;
  const total = p.total ?? job.total_items ?? null;
  return {
    jobId: job.job_id || p.job_id,
    kind: job.kind || p.kind,
    status,
    ended: isEnded(status),
    cancelRequested: Boolean(job.cancel_requested),
    requestedBy: job.requested_by || null,
    requestedAt: p.requested_at || job.requested_at || null,
    startedAt: p.started_at || job.started_at || null,
    finishedAt: p.finished_at || job.finished_at || null,
    total,
    queued: p.queued ?? 0,
    processing: p.processing ?? 0,
    retrying: p.retrying ?? 0,
    succeeded: p.succeeded ?? 0,
    failed: p.failed ?? 0,
    skipped: p.skipped ?? 0,
    cancelled: p.cancelled ?? 0,
    percent: p.percent ?? (isEnded(status) ? 100 : 0),
    currentItems: p.current_items || [],
    itemsPerSecond: p.items_per_second ?? null,
    bytesPerSecond: p.bytes_per_second ?? null,
    bytesDone: p.bytes_done ?? 0,
    etaSeconds: p.eta_seconds ?? null,
    receivedAt: entry.receivedAt || Date.now(),
    lastErrors: p.last_errors || [],
    groups: p.groups || {},
    sequence: p.sequence ?? 0,
  };
}

// --- status badge --------------------------------------------------------------------------------

export function statusBadge() {
  const el = h('span', { class: 'badge', 'data-testid': 'job-status' });
  return {
    el,
    update(view) {
      const cancelling = view.cancelRequested && !view.ended;
      setText(el, cancelling ? 'Cancelling' : STATUS_LABEL[view.status] || view.status);
      setAttr(el, 'data-status', view.status);
      el.className = `badge badge--${cancelling ? 'cancelling' : view.status}`;
    },
  };
}

// --- progress bar --------------------------------------------------------------------------------

/** A stacked bar (succeeded, skipped, failed) with role=progressbar; striped while the total is unknown. */
export function progressBar({ large = false, label = 'Job progress' } = {}) {
  const segments = {
    succeeded: h('span', { class: 'bar__seg bar__seg--succeeded' }),
    skipped: h('span', { class: 'bar__seg bar__seg--skipped' }),
    failed: h('span', { class: 'bar__seg bar__seg--failed' }),
  };
  const el = h(
    'div',
    {
      class: `bar${large ? ' bar--large' : ''}`,
      role: 'progressbar',
      'aria-label': label,
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'data-testid': 'progress-bar',
    },
    segments.succeeded,
    segments.skipped,
    segments.failed,
  );
  return {
    el,
    update(view) {
      const indeterminate = view.total == null && !view.ended;
      el.classList.toggle('bar--indeterminate', indeterminate);
      el.classList.toggle('bar--ended', view.ended);
      setAttr(el, 'data-status', view.status);
      if (indeterminate) {
        setAttr(el, 'aria-valuenow', null);
        setAttr(el, 'aria-valuetext', `Counting items… ${fmtInt(view.succeeded + view.failed + view.skipped)} done`);
        for (const seg of Object.values(segments)) seg.style.width = '0%';
        return;
      }
      const percent = Math.min(100, Math.max(0, Number(view.percent) || 0));
      setAttr(el, 'aria-valuenow', Math.round(percent * 10) / 10);
      const done = view.succeeded + view.failed + view.skipped;
      setAttr(
        el,
        'aria-valuetext',
        view.total == null ? fmtPercent(percent) : `${fmtPercent(percent)} — ${fmtInt(done)} of ${fmtInt(view.total)} items`,
      );
      if (view.total > 0) {
        // Widths from the counters; scaled so they add up to the reported percent.
        const raw = {
          succeeded: view.succeeded / view.total,
          skipped: view.skipped / view.total,
          failed: view.failed / view.total,
        };
        const sum = raw.succeeded + raw.skipped + raw.failed;
        const scale = sum > 0 ? percent / 100 / sum : 0;
        for (const [name, seg] of Object.entries(segments)) seg.style.width = `${raw[name] * scale * 100}%`;
      } else {
        segments.succeeded.style.width = `${percent}%`;
        segments.skipped.style.width = '0%';
        segments.failed.style.width = '0%';
      }
    },
  };
}

// --- counters ------------------------------------------------------------------------------------

export const COUNTERS = ['queued', 'processing', 'retrying', 'succeeded', 'failed', 'skipped', 'cancelled'];
const COUNTER_LABEL = {
  queued: 'Queued',
  processing: 'Processing',
  retrying: 'Waiting to retry',
  succeeded: 'Succeeded',
  failed: 'Failed',
  skipped: 'Skipped',
  cancelled: 'Cancelled',
};

export function counters() {
  const values = {};
  const items = {};
  const el = h(
    'dl',
    { class: 'counters' },
    COUNTERS.map((name) => {
      values[name] = h('dd', { 'data-testid': `count-${name}`, 'data-value': '0', text: '0' });
      items[name] = h('div', { class: `counter counter--${name}` }, h('dt', { text: COUNTER_LABEL[name] }), values[name]);
      return items[name];
    }),
  );
  return {
    el,
    update(view) {
      for (const name of COUNTERS) {
        const n = view[name] || 0;
        setText(values[name], fmtInt(n));
        setAttr(values[name], 'data-value', n);
        items[name].classList.toggle('counter--zero', n === 0);
      }
    },
  };
}

// --- rate, ETA, elapsed --------------------------------------------------------------------------

export function elapsedSeconds(view, now = Date.now()) {
  const start = parseTime(view.startedAt);
  if (start == null) return null;
  const end = parseTime(view.finishedAt) ?? now;
  return Math.max(0, (end - start) / 1000);
}

export function etaSeconds(view, now = Date.now()) {
  if (view.ended || view.etaSeconds == null) return null;
  return Math.max(0, view.etaSeconds - (now - view.receivedAt) / 1000);
}

/** Rate, speed (when the kind moves bytes), ETA, elapsed, bytes transferred; `tick()` each second. */
export function stats({ withBytes = false, column = false } = {}) {
  const dd = (testid) => h('dd', { 'data-testid': testid, text: DASH });
  const rate = dd('rate');
  const speed = dd('speed');
  const eta = dd('eta');
  const elapsed = dd('elapsed');
  const bytes = dd('bytes-done');
  const item = (label, value, hidden = false) => h('div', { class: 'stat', hidden }, h('dt', { text: label }), value);
  const speedItem = item('Speed', speed, true);
  const bytesItem = item('Transferred', bytes, true);
  const el = h(
    'dl',
    { class: `stats${column ? ' stats--column' : ''}` },
    item('Rate', rate),
    withBytes ? speedItem : null,
    item('ETA', eta),
    item('Elapsed', elapsed),
    withBytes ? bytesItem : null,
  );
  let current = null;
  const tick = (now = Date.now()) => {
    if (!current) return;
    const seconds = elapsedSeconds(current, now);
    setText(elapsed, seconds == null ? (current.ended ? DASH : 'not started') : fmtDuration(seconds));
    const remaining = etaSeconds(current, now);
    let etaLabel = DASH;
    if (remaining != null) etaLabel = remaining < 1 ? 'any moment' : fmtDuration(remaining);
    else if (current.status === 'running') etaLabel = 'estimating…';
    setText(eta, etaLabel);
  };
  return {
    el,
    update(view) {
      current = view;
      setText(rate, view.itemsPerSecond == null ? DASH : `${fmtNumber(view.itemsPerSecond)} items/s`);
      if (withBytes) {
        speedItem.hidden = view.bytesPerSecond == null;
        setText(speed, view.bytesPerSecond == null ? DASH : `${fmtBytes(view.bytesPerSecond)}/s`);
        bytesItem.hidden = !(view.bytesDone > 0);
        setText(bytes, fmtBytes(view.bytesDone));
      }
      tick();
    },
    tick,
  };
}

// --- current items -------------------------------------------------------------------------------

/** Keep both ends of long keys (paths differ at the end): "blues-guit…/segment-0042.mp4". */
export function middleEllipsis(text, maxChars) {
  if (text.length <= maxChars) return text;
  const tail = Math.ceil((maxChars - 1) * 0.6);
  return `${text.slice(0, maxChars - 1 - tail)}…${text.slice(text.length - tail)}`;
}

export function currentItems({ max = 2, maxChars = 30, wrap = false } = {}) {
  const list = h('span', { class: 'current__items' });
  const el = h('div', { class: `current${wrap ? ' current--wrap' : ''}`, hidden: true }, h('span', { class: 'current__label', text: 'Now' }), list);
  let last = '';
  return {
    el,
    update(view) {
      const items = view.ended ? [] : view.currentItems;
      const key = items.join('\u0000');
      el.hidden = items.length === 0;
      if (key === last) return;
      last = key;
      list.replaceChildren(
        ...items.slice(0, max).map((item) => h('code', { class: 'current__item', title: item, text: middleEllipsis(item, maxChars) })),
        items.length > max ? h('span', { class: 'muted', text: `+${fmtInt(items.length - max)} more` }) : '',
      );
    },
  };
}
