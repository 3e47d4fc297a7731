// Skillstream dashboard: sign-in, the job list (#/jobs), a job page (#/jobs/<id>), and for callers with
// `catalogue.manage` the TGA catalogue (#/catalogue[/<tab>][?filters]), a unit of competency (#/units/<code>)
// and a qualification (#/qualifications/<code>); for callers with `media.manage` the media library (#/media).
// Vanilla ES modules, no build step, nothing loaded from elsewhere. One EventSource per page.

import { api, onUnauthorized } from './api.js';
import { mountCatalogueView } from './catalogue-view.js';
import { h, replace, setAttr, setText, uid } from './dom.js';
import { fmtDateTime } from './format.js';
import { mountJobView } from './job-view.js';
import { mountJobsView } from './jobs-view.js';
import { mountMediaView } from './media-view.js';
import { mountQualificationView } from './qualification-view.js';
import { notice, problemBox } from './ui.js';
import { mountUnitView } from './unit-view.js';

const DEV_ROLES = [
  ['admin', 'Administrator (admin)'],
  ['training_officer', 'Training officer'],
  ['member', 'Member'],
];
const LIVE_LABEL = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };

const root = document.getElementById('app');
let me = null;
let current = null; // the mounted page: {title, tick(now), destroy()}
let main = null;
let liveEl = null;
let kindsPromise = null;
let kindTitles = new Map();
let pendingFlash = null;
let expiryTimer = 0;
let signInMessage = null;

const ctx = {
  get me() {
    return me;
  },
  get canManage() {
    const perms = me?.permissions;
    return Array.isArray(perms) ? perms.includes('jobs.manage') : (me?.roles || []).includes('admin');
  },
  /** May use the TGA catalogue routes (permission `catalogue.manage`, only the admin role has it). */
  get canCatalogue() {
    const perms = me?.permissions;
    return Array.isArray(perms) ? perms.includes('catalogue.manage') : (me?.roles || []).includes('admin');
  },
  /** May use the media library routes (permission `media.manage`, only the admin role has it). */
  get canMedia() {
    const perms = me?.permissions;
    return Array.isArray(perms) ? perms.includes('media.manage') : (me?.roles || []).includes('admin');
  },
  kinds() {
    if (!kindsPromise) {
      kindsPromise = api('GET', 'api/job-kinds').then(
        ({ data }) => {
          const kinds = Array.isArray(data) ? data : Array.isArray(data?.items) ? data.items : []; // JobKindList: {items}
          kindTitles = new Map(kinds.map((k) => [k.kind, k.title || k.kind]));
          return kinds;
        },
        (error) => {
          kindsPromise = null;
          throw error;
        },
      );
    }
    return kindsPromise;
  },
  kindTitle(kind) {
    return kindTitles.get(kind) || kind || 'Job';
  },
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  flash(text, kind = 'info') {
    pendingFlash = { text, kind };
  },
  takeFlash() {
    const flash = pendingFlash;
    pendingFlash = null;
    if (!flash) return null;
    const el = notice(flash.text, flash.kind);
    setTimeout(() => el.remove(), 8000);
    return el;
  },
  setLive(state) {
    if (!liveEl) return;
    liveEl.hidden = !state;
    if (!state) return;
    liveEl.dataset.state = state;
    setText(liveEl.querySelector('.live__label'), LIVE_LABEL[state] || state);
    setAttr(liveEl, 'title', state === 'live' ? 'Receiving live updates' : 'Live updates are not flowing right now');
  },
  signedOut() {
    showSignIn('Your session has ended. Sign in again to continue.');
  },
};

// --- pages -----------------------------------------------------------------------------------------

function unmount() {
  if (current) current.destroy();
  current = null;
}

// Hash routes: [pattern, mount(container, match), nav section, title, is the section's index page]. Codes and ids
// are URL-decoded here; the catalogue's tab and query string (its filters) are parsed by the catalogue view.
const ROUTES = [
  [/^#\/jobs\/([^/?#]+)\/?$/, (el, m) => mountJobView(el, ctx, decodeURIComponent(m[1])), '#/jobs', 'Job', false],
  [/^#\/catalogue(?:\/([a-z-]+))?\/?(?:\?(.*))?$/, (el, m) => mountCatalogueView(el, ctx, m[1] || '', m[2] || ''), '#/catalogue', 'Catalogue', true],
  [/^#\/units\/([^/?#]+)\/?$/, (el, m) => mountUnitView(el, ctx, decodeURIComponent(m[1])), '#/catalogue', 'Unit', false],
  [/^#\/qualifications\/([^/?#]+)\/?$/, (el, m) => mountQualificationView(el, ctx, decodeURIComponent(m[1])), '#/catalogue', 'Qualification', false],
  [/^#\/media\/?$/, (el) => mountMediaView(el, ctx), '#/media', 'Media library', true],
];

function route({ focus = true } = {}) {
  if (!me || !main) return;
  const hash = location.hash || '#/jobs';
  if (!hash.startsWith('#/')) return; // e.g. the skip link
  unmount();
  let section = '#/jobs';
  let index = true;
  let match = null;
  for (const [pattern, mount, navHref, title, isIndex] of ROUTES) {
    match = hash.match(pattern);
    if (!match) continue;
    current = mount(main, match);
    section = navHref;
    index = isIndex;
    document.title = `${title} · Skillstream`;
    break;
  }
  if (!match) {
    if (hash !== '#/jobs') history.replaceState(null, '', '#/jobs');
    current = mountJobsView(main, ctx);
    document.title = 'Jobs · Skillstream';
  }
  for (const link of root.querySelectorAll('.nav a')) {
    setAttr(link, 'aria-current', link.getAttribute('href') === section ? (index ? 'page' : 'true') : null);
  }
  window.scrollTo(0, 0);
  if (focus) (main.querySelector('h1') || main).focus({ preventScroll: true });
}

function showApp() {
  unmount();
  signInMessage = null;
  liveEl = h(
    'span',
    { class: 'live', role: 'status', 'aria-live': 'polite', hidden: true, 'data-testid': 'live-state' },
    h('span', { class: 'live__dot', 'aria-hidden': 'true' }),
    h('span', { class: 'live__label' }),
  );
  const signOut = h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'data-testid': 'sign-out', text: 'Sign out' });
  signOut.addEventListener('click', doSignOut);
  const header = h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'topbar__inner' },
      h('a', { class: 'brand', href: '#/jobs' }, h('img', { src: 'static/favicon.svg', alt: '', width: 24, height: 24 }), 'Skillstream'),
      h(
        'nav',
        { class: 'nav', 'aria-label': 'Main' },
        h('a', { href: '#/jobs', text: 'Jobs' }),
        ctx.canCatalogue ? h('a', { href: '#/catalogue', 'data-testid': 'nav-catalogue', text: 'Catalogue' }) : null,
        ctx.canMedia ? h('a', { href: '#/media', 'data-testid': 'nav-media', text: 'Media library' }) : null,
      ),
      h('div', { class: 'topbar__spacer' }),
      liveEl,
      h(
        'div',
        { class: 'user', 'data-testid': 'signed-in-as', title: me.expires_at ? `Session expires ${fmtDateTime(me.expires_at)}` : null },
        h('span', { class: 'user__avatar', 'aria-hidden': 'true', text: (me.name || me.sub || '?').charAt(0).toUpperCase() }),
        h(
          'span',
          { class: 'user__text' },
          h('span', { class: 'visually-hidden', text: 'Signed in as ' }),
          h('strong', { class: 'user__sub', text: me.sub }),
          me.name && me.name !== me.sub ? h('span', { class: 'user__name', text: ` (${me.name})` }) : null,
          h('span', { class: 'user__roles' }, (me.roles || []).map((r) => h('span', { class: 'role', text: r }))),
        ),
      ),
      signOut,
    ),
  );
  main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  replace(root, header, main);
  root.removeAttribute('aria-busy');
  scheduleExpiry();
  ctx.kinds().catch(() => {});
  route({ focus: false });
}

function scheduleExpiry() {
  clearTimeout(expiryTimer);
  const at = me?.expires_at ? Date.parse(me.expires_at) : NaN;
  if (Number.isNaN(at)) return;
  const wait = Math.min(at - Date.now() + 1000, 2 ** 31 - 1);
  expiryTimer = setTimeout(() => {
    api('GET', 'auth/session', { auth: true }).then(
      ({ data }) => {
        me = data;
        scheduleExpiry();
      },
      () => showSignIn('Your session expired. Sign in again to continue.'),
    );
  }, Math.max(0, wait));
}

async function doSignOut() {
  let message = 'You are signed out.';
  try {
    await api('DELETE', 'auth/session', { auth: true });
  } catch (error) {
    if (error.status !== 401) message = `Signing out did not reach the gateway (${error.problem?.title || error.message}); the session cookie may still be set.`;
  }
  showSignIn(message, 'info');
}

// --- sign in ---------------------------------------------------------------------------------------

function showSignIn(message, kind = 'warning') {
  unmount();
  clearTimeout(expiryTimer);
  me = null;
  main = null;
  liveEl = null;
  kindsPromise = null;
  if (message) signInMessage = { message, kind };
  document.title = 'Sign in · Skillstream';
  if (location.hash && !location.hash.startsWith('#/')) history.replaceState(null, '', location.pathname + location.search);

  const tokenId = uid('token');
  const token = h('textarea', {
    id: tokenId,
    name: 'token',
    rows: 5,
    class: 'mono',
    required: true,
    autocomplete: 'off',
    autocapitalize: 'off',
    spellcheck: 'false',
    placeholder: 'eyJhbGciOiJIUzI1NiIs…',
    'data-testid': 'signin-token',
    'aria-describedby': `${tokenId}-hint`,
  });
  const tokenProblem = problemBox({ testid: 'signin-problem' });
  const submit = h('button', { type: 'submit', class: 'btn btn--primary btn--block', 'data-testid': 'signin-submit', text: 'Sign in' });
  const tokenForm = h(
    'form',
    { class: 'form', novalidate: true, 'aria-label': 'Sign in with a token' },
    h('div', { class: 'field' }, h('label', { class: 'field__label', for: tokenId, text: 'Access token' }), token),
    h(
      'p',
      { class: 'field__hint', id: `${tokenId}-hint` },
      'Paste a token, e.g. from ',
      h('code', { text: 'skillstream token --role admin --ttl 8h' }),
      '. It is sent once and then kept only in an HttpOnly cookie.',
    ),
    tokenProblem.el,
    submit,
  );

  const roleId = uid('role');
  const role = h('select', { id: roleId, name: 'role', 'data-testid': 'dev-login-role' }, DEV_ROLES.map(([value, label]) => h('option', { value, text: label })));
  const devButton = h('button', { type: 'submit', class: 'btn btn--secondary', 'data-testid': 'dev-login', text: 'Dev login' });
  const devProblem = problemBox({ testid: 'dev-login-problem' });
  const devForm = h(
    'form',
    { class: 'form dev-form', 'aria-label': 'Development login' },
    h('div', { class: 'field' }, h('label', { class: 'field__label', for: roleId, text: 'Role' }), h('div', { class: 'inline' }, role, devButton)),
    h('p', { class: 'field__hint', text: 'Development gateways only (GATEWAY_DEV_LOGIN=true): signs you in as dev-<role>.' }),
    devProblem.el,
  );
  const devSection = h('div', { class: 'dev-section' }, h('div', { class: 'divider' }, h('span', { text: 'or' })), devForm);

  const banner = signInMessage ? notice(signInMessage.message, signInMessage.kind) : null;
  const card = h(
    'main',
    { id: 'main', class: 'signin', tabindex: '-1' },
    h(
      'div',
      { class: 'signin__card card' },
      h('div', { class: 'signin__brand' }, h('img', { src: 'static/favicon.svg', alt: '', width: 36, height: 36 }), h('span', { text: 'Skillstream' })),
      h('h1', { class: 'signin__title', text: 'Sign in to the back office' }),
      banner,
      tokenForm,
      devSection,
    ),
  );
  replace(root, card);
  root.removeAttribute('aria-busy');
  token.focus();

  const signedIn = (data) => {
    me = data;
    token.value = '';
    showApp();
  };

  tokenForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    tokenProblem.clear();
    const value = token.value.trim().replace(/^Bearer\s+/i, '');
    if (!value) {
      tokenProblem.message('Paste a token first.');
      token.setAttribute('aria-invalid', 'true');
      token.focus();
      return;
    }
    token.removeAttribute('aria-invalid');
    submit.disabled = true;
    try {
      const { data } = await api('POST', 'auth/session', { auth: true, headers: { Authorization: `Bearer ${value}` } });
      signedIn(data);
    } catch (error) {
      if (error.status === 401) token.setAttribute('aria-invalid', 'true');
      tokenProblem.show(error);
    } finally {
      submit.disabled = false;
    }
  });

  devForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    devProblem.clear();
    devButton.disabled = true;
    try {
      const { data } = await api('POST', 'auth/dev-login', { auth: true, body: { role: role.value } });
      signedIn(data);
    } catch (error) {
      if (error.status === 404) {
        replace(devSection, h('p', { class: 'muted small dev-off', 'data-testid': 'dev-login-disabled', text: 'Dev login is not enabled on this gateway.' }));
      } else {
        devProblem.show(error);
      }
    } finally {
      devButton.disabled = false;
    }
  });
}

// --- start -----------------------------------------------------------------------------------------

function showBootError(error) {
  const retry = h('button', { type: 'button', class: 'btn btn--secondary', text: 'Try again' });
  retry.addEventListener('click', boot);
  const box = problemBox();
  box.show(error);
  replace(root, h('main', { class: 'signin' }, h('div', { class: 'signin__card card' }, h('h1', { class: 'signin__title', text: 'Skillstream is not answering' }), box.el, retry)));
  root.removeAttribute('aria-busy');
}

async function boot() {
  try {
    const { data } = await api('GET', 'auth/session', { auth: true });
    me = data;
  } catch (error) {
    if (error.status === 401) showSignIn(null);
    else showBootError(error);
    return;
  }
  showApp();
}

onUnauthorized(() => {
  if (me) showSignIn('Your session has ended. Sign in again to continue.');
});
window.addEventListener('hashchange', () => route());
setInterval(() => {
  if (current?.tick) current.tick(Date.now());
}, 1000);
boot();
