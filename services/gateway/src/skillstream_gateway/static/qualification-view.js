// One qualification (#/qualifications/<code>): GET /api/qualifications/{code}/comprehensive → QualificationDetail
// (skillstream_contracts.tga_queries). Description, entry requirements, the core units, the elective units
// (grouped when the packaging rules name groups: "Group A…"), each linking to its unit page once downloaded,
// and the packaging rules as written; a metadata-only qualification (TGA lists no content file) says so. Units not downloaded yet can be fetched in one units download job.

import { api, jobOf } from './api.js';
import { h } from './dom.js';
import { DASH, fmtDateTime, fmtInt } from './format.js';
import { problemBox } from './ui.js';
import { componentHead, foldable, mountComponentPage, paragraphs, section, sourceText } from './unit-view.js';

function unitsTable(units, caption) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table qual-units' },
      h('caption', { class: 'visually-hidden', text: caption }),
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col', class: 'qual-units__code', text: 'Code' }), h('th', { scope: 'col', text: 'Title' }), h('th', { scope: 'col', class: 'qual-units__state', text: 'Downloaded' })),
      ),
      h(
        'tbody',
        {},
        units.map((unit) =>
          h(
            'tr',
            { 'data-testid': 'qualification-unit', 'data-code': unit.code, 'data-core': String(unit.core) },
            h(
              'th',
              { scope: 'row', class: 'qual-units__code' },
              unit.downloaded ? h('a', { href: `#/units/${encodeURIComponent(unit.code)}` }, h('code', { text: unit.code })) : h('code', { text: unit.code }),
            ),
            h('td', { text: unit.title || DASH }),
            h(
              'td',
              { class: 'qual-units__state' },
              unit.downloaded ? [h('span', { class: 'tick', 'aria-hidden': 'true', text: '✓' }), h('span', { class: 'visually-hidden', text: 'Downloaded' })] : h('span', { class: 'muted', text: 'Not yet' }),
            ),
          ),
        ),
      ),
    ),
  );
}

/** Electives in document order: the ungrouped ones first, then one sub-table per stated group. */
function electiveBlocks(electives) {
  const groups = new Map();
  for (const unit of electives) {
    const key = unit.group || '';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(unit);
  }
  const keys = [...groups.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : 0));
  if (keys.length === 1 && keys[0] === '') return [unitsTable(electives, 'Elective units')];
  return keys.map((key) =>
    h(
      'div',
      { class: 'qual-group', 'data-testid': 'elective-group', 'data-group': key },
      h('h3', { text: key ? `${key} (${fmtInt(groups.get(key).length)})` : `Other electives (${fmtInt(groups.get(key).length)})` }),
      unitsTable(groups.get(key), key ? `Elective units, ${key}` : 'Other elective units'),
    ),
  );
}

/** "Download N missing units" → POST /api/units/bulk-download, then the job's page. */
function missingUnitsAction(ctx, units) {
  const missing = [...new Set(units.filter((u) => !u.downloaded).map((u) => u.code))];
  if (!missing.length) return null;
  const box = problemBox({ testid: 'qualification-problem' });
  const button = h('button', {
    type: 'button',
    class: 'btn btn--secondary btn--small',
    'data-testid': 'download-missing-units',
    text: `Download ${fmtInt(missing.length)} missing ${missing.length === 1 ? 'unit' : 'units'}`,
  });
  button.addEventListener('click', async () => {
    button.disabled = true;
    box.clear();
    try {
      const { data } = await api('POST', 'api/units/bulk-download', { body: { codes: missing.slice(0, 1000) } });
      ctx.flash(`Downloading ${fmtInt(missing.length)} units of competency.`, 'success');
      ctx.navigate(`#/jobs/${encodeURIComponent(jobOf(data).job_id)}`);
    } catch (error) {
      if (error.status !== 401) box.show(error);
      button.disabled = false;
    }
  });
  return h('div', { class: 'qual-actions' }, button, box.el);
}

function qualificationContent(ctx, q) {
  const units = q.units || [];
  const core = units.filter((u) => u.core);
  const electives = units.filter((u) => !u.core);
  const counts = [`${fmtInt(core.length)} core`, `${fmtInt(electives.length)} elective`];
  if (q.total_units != null) counts.push(`${fmtInt(q.total_units)} units to complete`);
  return [
    ...componentHead({
      tab: 'qualifications',
      kind: 'Qualification',
      detail: q,
      // The parser keeps the level as written: a number ("4") or a name ("Certificate III").
      badges: q.aqf_level ? [h('span', { class: 'tag', 'data-testid': 'aqf-level', text: /^\d+$/.test(q.aqf_level) ? `AQF level ${q.aqf_level}` : q.aqf_level })] : [],
      supersededHref: (code) => `#/qualifications/${encodeURIComponent(code)}`,
      actions: missingUnitsAction(ctx, units),
      rows: [
        ['Release', q.release || DASH],
        ['Training package', q.training_package || DASH],
        ['Units', counts.join(' · ')],
        ['Source', sourceText(q.source)],
        ['Downloaded', fmtDateTime(q.downloaded_at)],
      ],
    }),
    q.metadata_only_reason
      ? h(
          'div',
          { class: 'notice notice--warning', role: 'status', 'data-testid': 'qualification-metadata-only' },
          h('strong', { text: 'Metadata only. ' }),
          h('span', { text: `${q.metadata_only_reason}: no description, entry requirements or packaging rules are held${units.length ? '; the units are TGA’s unit grid' : ''}.` }),
        )
      : null,
    q.description ? section('Description', 'description', paragraphs(q.description)) : null,
    q.entry_requirements ? section('Entry requirements', 'entry-requirements', paragraphs(q.entry_requirements)) : null,
    core.length ? section(`Core units (${fmtInt(core.length)})`, 'core-units', unitsTable(core, 'Core units')) : null,
    electives.length ? section(`Elective units (${fmtInt(electives.length)})`, 'elective-units', ...electiveBlocks(electives)) : null,
    q.packaging_rules
      ? section('Packaging rules', 'packaging-rules', foldable(paragraphs(q.packaging_rules, { class: 'prose prose--rules' }), q.packaging_rules.split('\n').length))
      : null,
  ];
}

/** Mounts the qualification page for `code` into `container`. */
export function mountQualificationView(container, ctx, code) {
  return mountComponentPage(container, {
    path: `api/qualifications/${encodeURIComponent(code)}/comprehensive`,
    tab: 'qualifications',
    what: 'qualification',
    title: 'Qualification',
    build: (data) => qualificationContent(ctx, data),
  });
}
