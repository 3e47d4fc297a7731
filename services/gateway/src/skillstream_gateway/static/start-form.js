// "Start a job": one form for every job kind of GET /api/job-kinds, fields generated from its parameters schema.

import { api, jobOf } from './api.js';
import { h, replace, uid } from './dom.js';
import { schemaFields } from './schema-form.js';
import { loading, problemBox } from './ui.js';

function splitErrors(problem, paramFields, outerFields) {
  const fieldErrors = {};
  const outerErrors = {};
  const rest = [];
  for (const error of problem.errors || []) {
    const loc = Array.isArray(error.loc) ? error.loc.map(String) : [];
    const at = loc.indexOf('parameters');
    const name = at >= 0 ? loc[at + 1] : undefined;
    const outer = loc.find((part) => outerFields.has(part));
    if (name !== undefined && paramFields.has(name) && !fieldErrors[name]) fieldErrors[name] = error.msg;
    else if (at < 0 && outer && !outerErrors[outer]) outerErrors[outer] = error.msg;
    else rest.push(error);
  }
  return { fieldErrors, outerErrors, rest };
}

function simpleField({ label, hint, input }) {
  const id = input.id || uid('field');
  input.id = id;
  const errorEl = h('p', { class: 'field__error', id: `${id}-error`, hidden: true });
  const hintEl = hint ? h('p', { class: 'field__hint', id: `${id}-hint`, text: hint }) : null;
  input.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' '));
  const el = h('div', { class: 'field' }, h('label', { class: 'field__label', for: id, text: label }), hintEl, input, errorEl);
  return {
    el,
    input,
    setError(message) {
      errorEl.hidden = !message;
      errorEl.textContent = message || '';
      el.classList.toggle('field--invalid', Boolean(message));
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

/** The start panel. `ctx.kinds()` gives the kinds; on success we go to the new job's page. */
export function startPanel(ctx) {
  const titleId = uid('start-title');
  const body = h('div', { class: 'start__body' }, loading('Loading job kinds…'));
  const el = h(
    'section',
    { class: 'card start', 'aria-labelledby': titleId },
    h('h2', { class: 'card__title', id: titleId, text: 'Start a job' }),
    body,
  );
  if (!ctx.canManage) {
    replace(body, h('p', { class: 'muted', text: 'Your roles let you follow jobs but not start them (needs jobs.manage).' }));
    return { el };
  }
  ctx
    .kinds()
    .then((kinds) => replace(body, buildForm(ctx, kinds)))
    .catch((error) => {
      const box = problemBox();
      box.show(error);
      replace(body, box.el);
    });
  return { el };
}

function buildForm(ctx, kinds) {
  if (!kinds.length) return h('p', { class: 'muted', text: 'No job kinds are available: no service has registered one yet.' });
  const kindSelect = h(
    'select',
    { id: uid('kind'), name: 'kind', 'data-testid': 'start-job-kind', required: true },
    kinds.map((k) => h('option', { value: k.kind, text: k.title || k.kind })),
  );
  const kindField = simpleField({ label: 'Job kind', input: kindSelect });
  const description = h('p', { class: 'start__description' });
  const owner = h('p', { class: 'start__owner muted small' });
  const paramsHolder = h('div', { class: 'start__params' });
  const keyField = simpleField({
    label: 'Idempotency key',
    hint: 'Optional. Starting again with the same key opens the existing job instead of a new one.',
    input: h('input', { type: 'text', name: 'idempotency_key', autocomplete: 'off', spellcheck: 'false', maxlength: 200 }),
  });
  const priorityField = simpleField({
    label: 'Priority',
    hint: 'Optional. Higher runs first; default 0.',
    input: h('input', { type: 'number', name: 'priority', step: '1', inputmode: 'numeric' }),
  });
  const problem = problemBox({ testid: 'start-job-problem' });
  const submit = h('button', { type: 'submit', class: 'btn btn--primary', 'data-testid': 'start-job-submit', text: 'Start job' });
  const advanced = h(
    'details',
    { class: 'advanced' },
    h('summary', { text: 'Advanced options' }),
    keyField.el,
    priorityField.el,
  );
  const form = h(
    'form',
    { class: 'form', 'data-testid': 'start-job-form', novalidate: true, 'aria-label': 'Start a job' },
    kindField.el,
    description,
    owner,
    paramsHolder,
    advanced,
    problem.el,
    h('div', { class: 'form__actions' }, submit),
  );

  let fields = null;
  const selectKind = () => {
    const kind = kinds.find((k) => k.kind === kindSelect.value) || kinds[0];
    description.textContent = kind.description || '';
    description.hidden = !kind.description;
    owner.textContent = kind.owner ? `Runs in ${kind.owner}` : '';
    owner.hidden = !kind.owner;
    fields = schemaFields(kind.parameters || {});
    replace(paramsHolder, fields.el);
    problem.clear();
  };
  kindSelect.addEventListener('change', selectKind);
  selectKind();

  const outer = { idempotency_key: keyField, priority: priorityField };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.clear();
    keyField.setError('');
    priorityField.setError('');
    const { values, errors } = fields.read();
    fields.showErrors(errors);
    let priority;
    const priorityText = priorityField.input.value.trim();
    if (priorityText !== '' || priorityField.input.validity.badInput) {
      priority = Number(priorityText);
      if (priorityText === '' || !Number.isInteger(priority)) {
        priorityField.setError('Enter a whole number.');
        advanced.open = true;
        priorityField.input.focus();
        return;
      }
    }
    if (Object.keys(errors).length) return;
    const body = { kind: kindSelect.value, parameters: values };
    const key = keyField.input.value.trim();
    if (key) body.idempotency_key = key;
    if (priority !== undefined) body.priority = priority;

    submit.disabled = true;
    submit.textContent = 'Starting…';
    try {
      const { status, data } = await api('POST', 'api/jobs', { body });
      if (status === 200) ctx.flash('That idempotency key was used before: this is the job it started.', 'info');
      else ctx.flash('Job started.', 'success');
      ctx.navigate(`#/jobs/${encodeURIComponent(jobOf(data).job_id)}`);
    } catch (error) {
      if (error.status === 401) return;
      const { fieldErrors, outerErrors, rest } = splitErrors(error.problem || {}, fields, new Set(Object.keys(outer)));
      fields.showErrors(fieldErrors);
      for (const [name, message] of Object.entries(outerErrors)) {
        outer[name].setError(message);
        advanced.open = true;
      }
      problem.show(error, { extraErrors: rest });
    } finally {
      submit.disabled = false;
      submit.textContent = 'Start job';
    }
  });
  return form;
}
