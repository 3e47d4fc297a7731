// One job (#/jobs/<id>): progress, per-group breakdown, failures, cancel and retry; live over
// GET /api/jobs/{id}/events.

import { api, jobOf, LiveStream } from './api.js';
import { h, replace, setAttr, setText } from './dom.js';
import { DASH, fmtDateTime, fmtInt, fmtPercent, fmtRelative, fmtTime, fmtValue, humanize, parseTime, shortId } from './format.js';
import { counters, currentItems, jobView, progressBar, stats, statusBadge } from './progress.js';
import { failure, loading, problemBox } from './ui.js';

function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', { class: 'card__title', text: title }) : null, ...children);
}

function definitionList(rows) {
  return h(
    'dl',
    { class: 'details' },
    rows.filter(Boolean).map(([term, value]) => h('div', { class: 'details__row' }, h('dt', { text: term }), h('dd', {}, value))),
  );
}

function groupRows() {
  const body = h('tbody');
  const rows = new Map();
  const filterInput = h('input', { type: 'search', class: 'input--small', placeholder: 'Filter groups', 'aria-label': 'Filter groups' });
  const onlyFailed = h('input', { type: 'checkbox', id: 'groups-failed-only' });
  const toolbar = h(
    'div',
    { class: 'table-tools', hidden: true },
    filterInput,
    h('label', { class: 'check-inline', for: 'groups-failed-only' }, onlyFailed, ' With failures only'),
  );
  const empty = h('p', { class: 'muted', text: 'No groups reported yet.' });
  const table = h(
    'table',
    { class: 'table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col', text: 'Group' }),
        h('th', { scope: 'col', class: 'num', text: 'Total' }),
        h('th', { scope: 'col', class: 'num', text: 'Succeeded' }),
        h('th', { scope: 'col', class: 'num', text: 'Failed' }),
        h('th', { scope: 'col', class: 'num', text: 'Skipped' }),
        h('th', { scope: 'col', class: 'col-bar', text: 'Progress' }),
      ),
    ),
    body,
  );
  const wrap = h('div', { class: 'table-wrap table-wrap--tall', hidden: true }, table);
  const applyFilter = () => {
    const needle = filterInput.value.trim().toLowerCase();
    for (const [name, row] of rows) {
      const text = `${row.label || ''} ${name}`.toLowerCase();
      row.el.hidden = (needle && !text.includes(needle)) || (onlyFailed.checked && !(row.failed > 0));
    }
  };
  filterInput.addEventListener('input', applyFilter);
  onlyFailed.addEventListener('change', applyFilter);

  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  return {
    el: h('div', {}, toolbar, empty, wrap),
    update(groups, jobEnded) {
      const names = Object.keys(groups);
      let added = false;
      for (const name of names) {
        const g = groups[name] || {};
        let row = rows.get(name);
        if (!row) {
          const cells = {
            total: h('td', { class: 'num' }),
            succeeded: h('td', { class: 'num' }),
            failed: h('td', { class: 'num' }),
            skipped: h('td', { class: 'num' }),
          };
          const bar = progressBar({ label: `Progress of group ${name}` });
          bar.el.removeAttribute('data-testid');
          bar.el.classList.add('bar--mini');
          const pct = h('span', { class: 'mini-pct' });
          row = {
            cells,
            bar,
            pct,
            failed: 0,
            label: null,
            head: h('th', { scope: 'row', class: 'group-name', title: name, text: name }),
            el: null,
          };
          row.el = h(
            'tr',
            { 'data-testid': 'group-row', 'data-group': name },
            row.head,
            cells.total,
            cells.succeeded,
            cells.failed,
            cells.skipped,
            h('td', { class: 'col-bar' }, h('div', { class: 'mini' }, bar.el, pct)),
          );
          rows.set(name, row);
          added = true;
        }
        if (g.label && row.label !== g.label) {
          // The owner's name for the group (a course title), with its key beside it.
          row.label = g.label;
          replace(row.head, g.label, h('span', { class: 'muted small group-key', text: ` ${name}` }));
          setAttr(row.head, 'title', `${g.label} (${name})`);
          added = true;
        }
        const total = g.total ?? 0;
        const done = (g.succeeded ?? 0) + (g.failed ?? 0) + (g.skipped ?? 0);
        const percent = total > 0 ? Math.min(100, (done / total) * 100) : done > 0 ? 100 : 0;
        for (const key of ['total', 'succeeded', 'failed', 'skipped']) {
          setText(row.cells[key], fmtInt(g[key] ?? 0));
          setAttr(row.cells[key], 'data-value', g[key] ?? 0);
        }
        row.cells.failed.classList.toggle('is-bad', (g.failed ?? 0) > 0);
        row.failed = g.failed ?? 0;
        row.bar.update({
          total,
          succeeded: g.succeeded ?? 0,
          failed: g.failed ?? 0,
          skipped: g.skipped ?? 0,
          percent,
          ended: jobEnded || done >= total,
          status: done >= total ? 'completed' : 'running',
        });
        setText(row.pct, fmtPercent(percent));
      }
      if (added) {
        const shown = (name) => rows.get(name).label || name;
        const sorted = [...rows.keys()].sort((a, b) => collator.compare(shown(a), shown(b)));
        body.replaceChildren(...sorted.map((name) => rows.get(name).el));
      }
      wrap.hidden = rows.size === 0;
      empty.hidden = rows.size > 0;
      toolbar.hidden = rows.size <= 8;
      applyFilter();
    },
  };
}

function errorRows() {
  const body = h('tbody');
  const empty = h('p', { class: 'muted', text: 'No failures.' });
  const table = h(
    'table',
    { class: 'table table--errors' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col', text: 'Item' }),
        h('th', { scope: 'col', text: 'Group' }),
        h('th', { scope: 'col', text: 'Reason' }),
        h('th', { scope: 'col', class: 'col-time', text: 'When' }),
      ),
    ),
    body,
  );
  const wrap = h('div', { class: 'table-wrap table-wrap--tall', hidden: true }, table);
  let last = '';
  return {
    el: h('div', {}, empty, wrap),
    update(errors, failedCount) {
      const key = JSON.stringify(errors);
      if (key !== last) {
        last = key;
        const sorted = [...errors].sort((a, b) => (parseTime(b.at) ?? 0) - (parseTime(a.at) ?? 0));
        body.replaceChildren(
          ...sorted.map((e) =>
            h(
              'tr',
              { 'data-testid': 'error-row' },
              h('td', {}, h('code', { class: 'item-key', title: e.item_key, text: e.item_key })),
              h('td', { class: 'muted', text: e.group || DASH }),
              h('td', { class: 'reason', text: e.reason }),
              h('td', { class: 'col-time' }, h('time', { datetime: e.at || null, title: fmtDateTime(e.at), text: fmtTime(e.at) })),
            ),
          ),
        );
      }
      wrap.hidden = errors.length === 0;
      empty.hidden = errors.length > 0;
      setText(empty, failedCount > 0 ? 'Failed items were reported without reasons.' : 'No failures.');
    },
  };
}

const ONLY_SHOWN = 20; // item keys listed for a retry or a resumed run; the rest are counted

/** What a retry or a resumed run runs: its item keys, above the parameters it inherited. */
function onlyItems(keys, retryOf) {
  const shown = keys.slice(0, ONLY_SHOWN).join(', ');
  const more = keys.length > ONLY_SHOWN ? ` and ${fmtInt(keys.length - ONLY_SHOWN)} more` : '';
  return h(
    'div',
    { class: 'only-items', 'data-testid': 'only-items' },
    h('p', { text: `Runs only ${fmtInt(keys.length)} ${keys.length === 1 ? 'item' : 'items'}: ${shown}${more}.` }),
    h('p', { class: 'muted small', text: `The parameters below are those of job ${shortId(retryOf || '')}; only these items run.` }),
  );
}

export function mountJobView(container, ctx, jobId) {
  const entry = { id: jobId, job: null, progress: null, receivedAt: Date.now() };
  let stream = null;
  let destroyed = false;
  let frame = 0;
  let view = null;
  let busy = false;
  const enc = encodeURIComponent(jobId);

  const flash = ctx.takeFlash();
  replace(container, h('div', { class: 'job-page' }, loading('Loading job…')));

  // --- widgets ---
  const titleEl = h('h1', { class: 'job-title', tabindex: '-1' });
  const badge = statusBadge();
  const subtitle = h('p', { class: 'job-subtitle muted' });
  const actionProblem = problemBox({ testid: 'action-problem' });
  const cancelBtn = h('button', { type: 'button', class: 'btn btn--danger', 'data-testid': 'cancel-job', hidden: true, text: 'Cancel job' });
  const retryBtn = h('button', { type: 'button', class: 'btn btn--primary', 'data-testid': 'retry-failed', hidden: true, text: 'Retry failed items' });
  const resumeBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'resume-job', hidden: true, text: 'Resume' });
  const bar = progressBar({ large: true });
  const bigPct = h('span', { class: 'big-pct' });
  const ofItems = h('span', { class: 'muted' });
  const ctr = counters();
  const st = stats({ withBytes: true });
  const cur = currentItems({ max: 8, maxChars: 60, wrap: true });
  const reason = h('div', { class: 'notice notice--error', role: 'status', hidden: true });
  const groups = groupRows();
  const groupsCount = h('span', { class: 'muted small' });
  const errors = errorRows();
  const errorsCount = h('span', { class: 'muted small' });
  const detailsHolder = h('div');
  const paramsHolder = h('div');
  const summaryCard = h('div');
  let detailsKey = '';

  function layout() {
    return h(
      'div',
      { class: 'job-page' },
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/jobs', text: '← All jobs' })),
      h(
        'div',
        { class: 'page-head job-head' },
        h('div', { class: 'job-head__title' }, h('div', { class: 'job-head__line' }, titleEl, badge.el), subtitle),
        h('div', { class: 'job-head__actions' }, cancelBtn, resumeBtn, retryBtn),
      ),
      flash,
      actionProblem.el,
      reason,
      h(
        'div',
        { class: 'job-grid' },
        h(
          'div',
          { class: 'job-grid__main' },
          card(
            null,
            h('div', { class: 'progress-head' }, bigPct, ofItems),
            bar.el,
            ctr.el,
            st.el,
            cur.el,
          ),
          h(
            'section',
            { class: 'card' },
            h('div', { class: 'card__head' }, h('h2', { class: 'card__title', text: 'Groups' }), groupsCount),
            groups.el,
          ),
          h(
            'section',
            { class: 'card' },
            h('div', { class: 'card__head' }, h('h2', { class: 'card__title', text: 'Failures' }), errorsCount),
            errors.el,
          ),
        ),
        h('div', { class: 'job-grid__side' }, card('Details', detailsHolder), card('Parameters', paramsHolder), summaryCard),
      ),
    );
  }

  function renderDetails() {
    const job = entry.job || {};
    const key = JSON.stringify([job, view.status, view.startedAt, view.finishedAt]);
    if (key === detailsKey) return;
    detailsKey = key;
    replace(
      detailsHolder,
      definitionList([
        ['Job ID', h('code', { class: 'selectable', text: jobId })],
        ['Kind', h('code', { text: view.kind || DASH })],
        ['Requested by', view.requestedBy || DASH],
        ['Requested', fmtDateTime(view.requestedAt)],
        ['Started', fmtDateTime(view.startedAt)],
        ['Finished', fmtDateTime(view.finishedAt)],
        ['Priority', fmtValue(job.priority ?? 0)],
        job.idempotency_key ? ['Idempotency key', h('code', { text: job.idempotency_key })] : null,
        job.retry_of
          ? ['Retry of', h('a', { href: `#/jobs/${encodeURIComponent(job.retry_of)}`, title: job.retry_of, text: shortId(job.retry_of) })]
          : null,
      ]),
    );
    const params = Object.entries(job.parameters || {});
    const only = job.only_items || [];
    const rows = params.map(([k, v]) => [humanize(k), h('span', { class: 'value', text: fmtValue(v) })]);
    replace(
      paramsHolder,
      only.length ? onlyItems(only, job.retry_of) : null,
      rows.length ? definitionList(rows) : h('p', { class: 'muted', text: 'None.' }),
    );
    const summary = Object.entries(job.summary || {});
    replace(
      summaryCard,
      summary.length ? card('Summary', definitionList(summary.map(([k, v]) => [humanize(k), h('span', { class: 'value', text: fmtValue(v) })]))) : null,
    );
  }

  function render() {
    frame = 0;
    if (destroyed || !entry.job) return;
    view = jobView(entry);
    const kindTitle = ctx.kindTitle(view.kind);
    setText(titleEl, kindTitle);
    document.title = `${kindTitle} · ${fmtPercent(view.percent)} · Skillstream`;
    badge.update(view);
    renderSubtitle(Date.now());
    bar.update(view);
    setAttr(bar.el, 'aria-label', `Progress of ${kindTitle}`);
    const done = view.succeeded + view.failed + view.skipped;
    setText(bigPct, view.total == null && !view.ended ? 'Counting items…' : fmtPercent(view.percent));
    setText(ofItems, view.total == null ? `${fmtInt(done)} items done` : `${fmtInt(done)} of ${fmtInt(view.total)} items`);
    ctr.update(view);
    st.update(view);
    cur.update(view);
    const why = entry.job.reason;
    reason.hidden = !why;
    setText(reason, why ? `${view.status === 'failed' ? 'The job failed' : 'Note'}: ${why}` : '');

    const groupCount = Object.keys(view.groups).length;
    setText(groupsCount, groupCount ? `${fmtInt(groupCount)} groups` : '');
    groups.update(view.groups, view.ended);
    errors.update(view.lastErrors, view.failed);
    setText(
      errorsCount,
      view.failed > 0 ? `${fmtInt(view.failed)} failed${view.lastErrors.length < view.failed ? ` · latest ${fmtInt(view.lastErrors.length)} shown` : ''}` : '',
    );

    const canCancel = ctx.canManage && !view.ended;
    cancelBtn.hidden = !canCancel;
    cancelBtn.disabled = busy || view.cancelRequested;
    setText(cancelBtn, view.cancelRequested ? 'Cancel requested' : 'Cancel job');
    retryBtn.hidden = !(ctx.canManage && view.ended && view.failed > 0);
    retryBtn.disabled = busy;
    setText(retryBtn, view.failed > 0 ? `Retry ${fmtInt(view.failed)} failed ${view.failed === 1 ? 'item' : 'items'}` : 'Retry failed items');
    resumeBtn.hidden = !(ctx.canManage && view.ended && view.status !== 'completed' && view.cancelled > 0);
    resumeBtn.disabled = busy;
    setText(resumeBtn, `Resume ${fmtInt(view.cancelled)} ${view.cancelled === 1 ? 'item' : 'items'} not run`);
    renderDetails();
  }

  function renderSubtitle(now) {
    const parts = [`Job ${shortId(jobId)}`];
    if (view.requestedBy) parts.push(`requested by ${view.requestedBy}`);
    if (view.requestedAt) parts.push(fmtRelative(view.requestedAt, now));
    setText(subtitle, parts.join(' · '));
  }

  function schedule() {
    if (!frame && !destroyed) frame = requestAnimationFrame(render);
  }

  function acceptProgress(progress) {
    if (progress.job_id !== jobId) return;
    if (entry.progress && (progress.sequence ?? 0) < (entry.progress.sequence ?? 0)) return;
    entry.progress = progress;
    entry.receivedAt = Date.now();
    schedule();
  }

  function acceptJob(job) {
    const { progress, ...rest } = job;
    entry.job = { ...(entry.job || {}), ...rest };
    if (progress) acceptProgress(progress);
    schedule();
  }

  cancelBtn.addEventListener('click', async () => {
    const name = view ? ctx.kindTitle(view.kind) : 'this job';
    // A native confirm() is the one dialog we use: the action is destructive and needs a deliberate yes.
    if (!window.confirm(`Cancel “${name}” (${shortId(jobId)})?\n\nNo new items will start; items in progress finish.`)) return;
    busy = true;
    actionProblem.clear();
    schedule();
    try {
      const { data } = await api('POST', `api/jobs/${enc}/cancel`);
      acceptJob(data);
    } catch (error) {
      if (error.status !== 401) actionProblem.show(error);
    } finally {
      busy = false;
      schedule();
    }
  });

  async function runAgain(action, message) {
    busy = true;
    actionProblem.clear();
    schedule();
    try {
      const { data } = await api('POST', `api/jobs/${enc}/${action}`);
      ctx.flash(message, 'success');
      ctx.navigate(`#/jobs/${encodeURIComponent(jobOf(data).job_id)}`);
    } catch (error) {
      if (error.status !== 401) actionProblem.show(error);
      busy = false;
      schedule();
    }
  }

  retryBtn.addEventListener('click', () => runAgain('retry-failed', `Retrying the failed items of job ${shortId(jobId)}.`));
  resumeBtn.addEventListener('click', () => runAgain('resume', `Resuming the items job ${shortId(jobId)} had not run.`));

  (async () => {
    try {
      const { data } = await api('GET', `api/jobs/${enc}`);
      if (destroyed) return;
      replace(container, layout());
      acceptJob(jobOf(data));
      render();
    } catch (error) {
      if (destroyed || error.status === 401) return;
      replace(
        container,
        h(
          'div',
          { class: 'job-page' },
          h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/jobs', text: '← All jobs' })),
          failure(error, { what: 'such job' }),
        ),
      );
      return;
    }
    stream = new LiveStream(`api/jobs/${enc}/events`, {
      onProgress: acceptProgress,
      onState: ctx.setLive,
      onSignedOut: ctx.signedOut,
    });
    stream.open();
  })();

  return {
    title: 'Job',
    tick(now) {
      if (!view) return;
      st.tick(now);
      renderSubtitle(now);
    },
    destroy() {
      destroyed = true;
      if (frame) cancelAnimationFrame(frame);
      if (stream) stream.close();
      ctx.setLive(null);
    },
  };
}
