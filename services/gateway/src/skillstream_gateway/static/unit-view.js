// One unit of competency (#/units/<code>): GET /api/units/{code}/comprehensive → UnitDetail
// (skillstream_contracts.tga_queries). The page follows the unit's own layout (TGA-FORMAT.md): application,
// prerequisites, elements with their performance criteria, then what assessment needs — "Required skills and
// knowledge" (each entry with its sub-entries nested under it) + "Critical aspects" in a pre-2012 unit,
// "Performance evidence" / "Knowledge evidence" / "Assessment conditions" in a 2012 ("Streamlined") unit — then
// foundation skills and the range. Sections without content are left out. Also exports the header, badge and text helpers the qualification and catalogue pages share.

import { api } from './api.js';
import { h, replace, uid } from './dom.js';
import { DASH, fmtBytes, fmtDateTime, fmtInt } from './format.js';
import { failure, loading } from './ui.js';

const USAGE_LABEL = { current: 'Current', superseded: 'Superseded', deleted: 'Deleted', unknown: 'Unknown' };
const FORMAT_LABEL = { 'pre-2012': 'Pre-2012 format', 2012: '2012 format' };
const CODE_RE = /^[A-Za-z0-9]{3,20}$/; // the gateway's national-code pattern (catalogue.py CODE)
const FOLD_AFTER = 15; // longer lists (a pre-2012 range statement runs to ~200 lines) start folded

/** TGA's usage recommendation (current / superseded / deleted / unknown) as a coloured badge. */
export function usageBadge(usage) {
  const value = Object.hasOwn(USAGE_LABEL, usage) ? usage : 'unknown';
  return h('span', { class: `badge badge--usage-${value}`, 'data-testid': 'usage-status', 'data-status': value, text: USAGE_LABEL[value] });
}

/** Text as paragraphs, one per line: the parser joins a topic's paragraphs with "\n". */
export function paragraphs(text, attrs = {}) {
  const lines = String(text || '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return h('div', { class: 'prose', ...attrs }, lines.map((line) => h('p', { text: line })));
}

/** `content` as is, or folded in a <details> when it has more than FOLD_AFTER `count` lines. */
export function foldable(content, count, noun = 'lines') {
  if (count <= FOLD_AFTER) return content;
  return h('details', { class: 'fold' }, h('summary', { text: `Show all ${fmtInt(count)} ${noun}` }), content);
}

/** A titled card (h2); `testid` names it for tests. */
export function section(title, testid, ...content) {
  const id = uid('section');
  return h(
    'section',
    { class: 'card component-section', 'aria-labelledby': id, 'data-testid': testid },
    h('h2', { class: 'card__title', id, text: title }),
    ...content,
  );
}

function subsection(title, testid, items) {
  if (!items?.length) return null;
  const id = uid('sub');
  return h(
    'section',
    { class: 'component-sub', 'aria-labelledby': id, 'data-testid': testid },
    h('h3', { id, text: title }),
    h('ul', { class: 'prose-list' }, items.map((item) => h('li', { text: item }))),
  );
}

/**
 * One entry of a pre-2012 unit's required skills or knowledge (RequiredItem {text, items}, its sub-entries
 * RequiredSubItem {text, items: [text]}; skillstream_contracts.tga_content) as a list item, with the entries
 * under it as a nested list beneath its text. A plain string is an entry without sub-entries.
 */
function requiredEntry(entry, depth = 1) {
  const text = typeof entry === 'string' ? entry : entry?.text;
  const items = typeof entry === 'string' ? [] : entry?.items || [];
  return h(
    'li',
    { 'data-testid': 'required-entry', 'data-depth': depth },
    h('span', { 'data-testid': 'required-entry-text', text }),
    items.length ? h('ul', { class: 'prose-list', 'data-testid': 'required-subentries' }, items.map((item) => requiredEntry(item, depth + 1))) : null,
  );
}

function requiredSubsection(title, testid, entries) {
  if (!entries?.length) return null;
  const id = uid('sub');
  return h(
    'section',
    { class: 'component-sub', 'aria-labelledby': id, 'data-testid': testid },
    h('h3', { id, text: title }),
    h('ul', { class: 'prose-list' }, entries.map((entry) => requiredEntry(entry))),
  );
}

/** "path (12.3 KB)" with the SHA-256 in the tooltip, from a SourceRef {relative_path, sha256, size}. */
export function sourceText(source) {
  if (!source) return DASH;
  return h('span', { title: `SHA-256 ${source.sha256}` }, h('code', { text: source.relative_path }), ` (${fmtBytes(source.size)})`);
}

/**
 * The head shared by the unit and qualification pages: breadcrumb back to the catalogue tab, the kind, the
 * h1 "<code> <title>", badges, a details list and notices for a superseded or deleted component.
 * `rows`: [term, value] pairs (falsy rows skipped); `supersededHref`: the page of the replacement.
 */
export function componentHead({ tab, kind, detail, badges = [], rows = [], supersededHref, actions = null }) {
  const notices = [];
  if (detail.superseded_by) {
    notices.push(
      h(
        'div',
        { class: 'notice notice--warning', role: 'note', 'data-testid': 'superseded-notice' },
        'Superseded by ',
        h('a', { href: supersededHref(detail.superseded_by) }, h('code', { text: detail.superseded_by })),
        '.',
      ),
    );
  }
  if (detail.deleted_at) {
    notices.push(h('div', { class: 'notice notice--error', role: 'note', text: `Deleted from TGA on ${fmtDateTime(detail.deleted_at)}.` }));
  }
  return [
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: `#/catalogue/${tab}`, text: '← Catalogue' })),
    h(
      'div',
      { class: 'page-head component-head' },
      h(
        'div',
        {},
        h('p', { class: 'component-kind', text: kind }),
        h(
          'h1',
          { tabindex: '-1', 'data-testid': 'component-title' },
          h('span', { class: 'component-code', 'data-testid': 'component-code', text: detail.code }),
          ' ',
          h('span', { text: detail.title }),
        ),
        h('div', { class: 'component-badges' }, usageBadge(detail.usage_recommendation), ...badges),
      ),
      actions,
    ),
    ...notices,
    h(
      'dl',
      { class: 'details component-details', 'data-testid': 'component-details' },
      rows.filter(Boolean).map(([term, value]) => h('div', { class: 'details__row' }, h('dt', { text: term }), h('dd', {}, value))),
    ),
  ];
}

/**
 * Loads `path` and renders `build(data)` into the container; a failed load (404 when not downloaded, 403
 * without `catalogue.manage`) becomes a page-level message with the problem's `detail`.
 * Returns the page handle app.js keeps ({title, destroy}).
 */
export function mountComponentPage(container, { path, tab, what, title, build }) {
  let destroyed = false;
  // loading() is a role=status region and failure() a role=alert one, so both are announced.
  const page = h('div', { class: 'component-page', 'aria-busy': 'true' }, loading(`Loading ${what}…`));
  replace(container, page);
  (async () => {
    try {
      const { data } = await api('GET', path);
      if (destroyed) return;
      replace(page, ...build(data));
      document.title = `${data.code} · Skillstream`;
    } catch (error) {
      if (destroyed || error.status === 401) return;
      replace(
        page,
        h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: `#/catalogue/${tab}`, text: '← Catalogue' })),
        h('h1', { class: 'visually-hidden', tabindex: '-1', text: title }),
        failure(error, { what: `such ${what} downloaded` }),
      );
    } finally {
      page.removeAttribute('aria-busy');
    }
  })();
  return {
    title,
    destroy() {
      destroyed = true;
    },
  };
}

function codeLink(code, route) {
  return CODE_RE.test(code) ? h('a', { href: `#/${route}/${encodeURIComponent(code)}` }, h('code', { text: code })) : h('span', { text: code });
}

function elementsTable(elements) {
  const criteria = elements.reduce((n, e) => n + (e.performance_criteria?.length || 0), 0);
  const table = h(
    'table',
    { class: 'table epc-table', 'data-testid': 'elements-table' },
    h('caption', { class: 'visually-hidden', text: 'Elements and their performance criteria' }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'epc-num', text: 'No.' }), h('th', { scope: 'col', text: 'Element / performance criterion' }))),
    elements.map((element) =>
      h(
        'tbody',
        { 'data-testid': 'element', 'data-number': element.number },
        h(
          'tr',
          { class: 'epc-element' },
          h('th', { scope: 'rowgroup', class: 'epc-num', 'data-testid': 'element-number', text: element.number }),
          h('th', { scope: 'rowgroup', 'data-testid': 'element-title', text: element.title }),
        ),
        (element.performance_criteria || []).map((pc) =>
          h(
            'tr',
            { 'data-testid': 'criterion', 'data-number': pc.number },
            h('td', { class: 'epc-num', 'data-testid': 'criterion-number', text: pc.number }),
            h('td', { 'data-testid': 'criterion-text', text: pc.text }),
          ),
        ),
      ),
    ),
  );
  return section(
    'Elements and performance criteria',
    'elements',
    h('p', { class: 'muted small component-count', text: `${fmtInt(elements.length)} elements · ${fmtInt(criteria)} performance criteria` }),
    h('div', { class: 'table-wrap' }, table),
  );
}

function foundationSkills(skills) {
  return section(
    'Foundation skills',
    'foundation-skills',
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Skill' }), h('th', { scope: 'col', text: 'Description' }))),
        h(
          'tbody',
          {},
          skills.map((s) => h('tr', {}, h('th', { scope: 'row', text: s.skill }), h('td', { class: 'prose-cell', text: s.description }))),
        ),
      ),
    ),
  );
}

/** The unit page's content, in the unit's reading order; every section only when it has content. */
function unitContent(unit) {
  const assessment = [
    subsection('Critical aspects for assessment', 'critical-aspects', unit.critical_aspects),
    requiredSubsection('Required skills', 'required-skills', unit.required_skills),
    requiredSubsection('Required knowledge', 'required-knowledge', unit.required_knowledge),
    subsection('Performance evidence', 'performance-evidence', unit.performance_evidence),
    subsection('Knowledge evidence', 'knowledge-evidence', unit.knowledge_evidence),
    subsection('Assessment conditions', 'assessment-conditions', unit.assessment_conditions),
  ].filter(Boolean);
  const range = unit.range_statement || [];
  return [
    ...componentHead({
      tab: 'units',
      kind: 'Unit of competency',
      detail: unit,
      badges: [h('span', { class: 'tag', 'data-testid': 'unit-format', text: FORMAT_LABEL[unit.format] || unit.format })],
      supersededHref: (code) => `#/units/${encodeURIComponent(code)}`,
      rows: [
        ['Release', unit.release || DASH],
        ['Training package', unit.training_package || DASH],
        unit.competency_field ? ['Competency field', unit.competency_field] : null,
        ['Source', sourceText(unit.source)],
        ['Downloaded', fmtDateTime(unit.downloaded_at)],
        ['Parser version', String(unit.parser_version ?? DASH)],
      ],
    }),
    unit.application ? section('Application', 'application', paragraphs(unit.application)) : null,
    unit.prerequisites?.length
      ? section('Prerequisites', 'prerequisites', h('ul', { class: 'code-list' }, unit.prerequisites.map((code) => h('li', {}, codeLink(code, 'units')))))
      : null,
    unit.elements?.length ? elementsTable(unit.elements) : null,
    assessment.length ? section('Assessment requirements', 'assessment', ...assessment) : null,
    unit.foundation_skills?.length ? foundationSkills(unit.foundation_skills) : null,
    range.length
      ? section(
          unit.format === '2012' ? 'Range of conditions' : 'Range statement',
          'range',
          foldable(h('ul', { class: 'prose-list' }, range.map((item) => h('li', { text: item }))), range.length),
        )
      : null,
  ];
}

/** Mounts the unit page for `code` into `container`. */
export function mountUnitView(container, ctx, code) {
  return mountComponentPage(container, {
    path: `api/units/${encodeURIComponent(code)}/comprehensive`,
    tab: 'units',
    what: 'unit of competency',
    title: 'Unit',
    build: unitContent,
  });
}
