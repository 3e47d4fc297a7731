// Small shared pieces of UI: problem (error) boxes, notices, empty states.

import { h, replace } from './dom.js';

function errorLocation(loc) {
  if (!Array.isArray(loc)) return '';
  const parts = loc.filter((part) => part !== 'body');
  return parts.join('.');
}

/** Renders an ApiError's problem document inline: title, detail and the per-field errors not shown elsewhere. */
export function problemBox({ testid = 'problem' } = {}) {
  const el = h('div', { class: 'problem', role: 'alert', hidden: true, 'data-testid': testid });
  return {
    el,
    show(error, { extraErrors } = {}) {
      const problem = error?.problem || { title: String(error?.message || error), errors: [] };
      const errors = extraErrors ?? problem.errors ?? [];
      replace(
        el,
        h('p', { class: 'problem__title' }, problem.title || 'Something went wrong', problem.status ? h('span', { class: 'problem__status', text: ` (${problem.status})` }) : null),
        problem.detail ? h('p', { class: 'problem__detail', text: problem.detail }) : null,
        errors.length
          ? h(
              'ul',
              { class: 'problem__errors' },
              errors.map((e) => {
                const where = errorLocation(e.loc);
                return h('li', {}, where ? h('code', { text: where }) : null, where ? ': ' : null, e.msg || String(e));
              }),
            )
          : null,
      );
      el.hidden = false;
    },
    message(title, detail) {
      this.show({ problem: { title, detail, errors: [] } });
    },
    clear() {
      el.hidden = true;
      el.replaceChildren();
    },
  };
}

export function notice(text, kind = 'info') {
  return h('div', { class: `notice notice--${kind}`, role: 'status', text });
}

export function emptyState(title, text) {
  return h('div', { class: 'empty' }, h('p', { class: 'empty__title', text: title }), text ? h('p', { class: 'muted', text }) : null);
}

export function loading(text = 'Loading…') {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { text }));
}

/** A page-level message for a failed load (404, 403, 503…). */
export function failure(error, { what = 'this page' } = {}) {
  const status = error?.status;
  let title = error?.problem?.title || 'Something went wrong';
  let text = error?.problem?.detail || '';
  if (status === 404) {
    title = 'Not found';
    text = text || `There is no ${what}, or you may not see it.`;
  } else if (status === 403) {
    title = 'Not allowed';
    text = text || `Your roles do not allow you to see ${what}.`;
  }
  return h('div', { class: 'empty empty--error', role: 'alert' }, h('p', { class: 'empty__title', text: title }), text ? h('p', { text }) : null);
}
