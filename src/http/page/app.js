// warren's admin page: plain browser JS, no framework and no build step. warren/http serves
// it under a strict Content-Security-Policy (script-src 'self', no inline script, no eval).
// Every stored string (job ids, descriptions, pause notes, errors, params) reaches the DOM
// as text (textContent, text nodes, attribute values), never as HTML.
'use strict';

(() => {
  // The page lives at <base>/ and this script at <base>/_warren/app.js: the API is <base>/.
  const base = new URL('../', document.currentScript.src);
  // Per mount path, so two admin pages on one origin keep their own tokens.
  const TOKEN_KEY = `warren.adminToken:${base.pathname}`;
  // Who signed in, sent with each call so the audit trail names a person, not an address
  // (a proxy's authenticated user header, when the host configures one, wins over it).
  const ACTOR_KEY = `warren.adminActor:${base.pathname}`;
  const AUTO_REFRESH_MS = 10_000;
  const FOLLOW_MS = 1_000;
  const FOLLOW_LIMIT = 120;
  const FINISHED = new Set(['succeeded', 'failed', 'dead', 'timed_out', 'expired', 'missed', 'skipped', 'cancelled']);
  const BAD = new Set(['failed', 'dead', 'timed_out', 'expired', 'missed']);

  const $ = (id) => document.getElementById(id);
  const state = { jobs: [], selected: null, timer: null, busy: false };

  // ── DOM helpers: text only ───────────────────────────────────────────────────
  function el(tag, { text, className, title } = {}, children = []) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    if (title) node.title = String(title);
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function badge(status) {
    const kind = status === 'succeeded' || status === 'enabled' ? 'ok' : BAD.has(status) ? 'bad' : status === 'paused' ? 'warn' : 'neutral';
    return el('span', { text: status.replace('_', ' '), className: `badge ${kind}` });
  }

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  /** Local time as `YYYY-MM-DD HH:MM:SS`, the ISO instant in the tooltip. */
  function time(iso) {
    if (!iso) return el('span', { text: '—', className: 'muted' });
    const d = new Date(iso);
    const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    return el('time', { text, title: `${iso} (${relative(d)})` });
  }

  function relative(date) {
    const s = Math.round((date.getTime() - Date.now()) / 1000);
    const abs = Math.abs(s);
    const span =
      abs < 90
        ? `${abs}s`
        : abs < 5400
          ? `${Math.round(abs / 60)}m`
          : abs < 129600
            ? `${Math.round(abs / 3600)}h`
            : `${Math.round(abs / 86400)}d`;
    return s >= 0 ? `in ${span}` : `${span} ago`;
  }

  function duration(ms) {
    const parts = [];
    let rest = Math.round(ms / 1000);
    for (const [unit, size] of [
      ['d', 86400],
      ['h', 3600],
      ['m', 60],
      ['s', 1],
    ]) {
      if (rest >= size) {
        parts.push(`${Math.floor(rest / size)}${unit}`);
        rest %= size;
      }
    }
    return parts.join(' ') || `${ms}ms`;
  }

  function schedule(job) {
    const s = job.schedule;
    const text = !s ? 'on demand' : s.kind === 'cron' ? `${s.cron} (${s.tz})` : `every ${duration(s.everyMs)}`;
    const node = el('span', { text, className: s && s.kind === 'cron' ? 'mono' : '' });
    return job.reschedule === 'queue'
      ? el('span', {}, [node, el('span', { text: 'queue mode', className: 'sub', title: 'The worker queues the next run after each run' })])
      : node;
  }

  // ── API: the same REST endpoints and bearer token as any client ─────────────
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const actor = sessionStorage.getItem(ACTOR_KEY);
    if (actor) headers['X-Warren-Actor'] = encodeURIComponent(`page:${actor}`);
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(new URL(path, base), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (error) {
      throw new ApiError(0, 'ERR_NETWORK', `Could not reach the admin API: ${error.message}`);
    }
    const text = await response.text();
    let data;
    try {
      data = text === '' ? undefined : JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const err = data && data.error;
      const code = (err && err.code) || `HTTP_${response.status}`;
      throw new ApiError(response.status, code, (err && err.message) || `The admin API answered ${response.status} ${response.statusText}`);
    }
    return data;
  }

  const jobPath = (id, rest = '') => `jobs/${encodeURIComponent(id)}${rest}`;

  // ── messages ────────────────────────────────────────────────────────────────
  function showError(error) {
    if (error instanceof ApiError && error.status === 401) {
      const during = $('app').hidden ? 'Sign-in failed' : 'Signed out';
      signOut();
      $('error-text').textContent = `${during}: the admin API refused this token (${error.code}: ${error.message}).`;
    } else {
      $('error-text').textContent =
        error instanceof ApiError ? `${error.code}: ${error.message}` : String(error && error.message ? error.message : error);
    }
    $('error').hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
    $('error-text').textContent = '';
  }

  function notice(text) {
    $('notice').textContent = text;
  }

  // ── sign-in ─────────────────────────────────────────────────────────────────
  function showSignedIn(signedIn) {
    $('sign-in').hidden = signedIn;
    $('app').hidden = !signedIn;
    $('sign-out').hidden = !signedIn;
    const actor = sessionStorage.getItem(ACTOR_KEY);
    $('signed-in-as').textContent = signedIn && actor ? `signed in as ${actor}` : '';
    $('signed-in-as').hidden = !(signedIn && actor);
    clearInterval(state.timer);
    state.timer = signedIn ? setInterval(autoRefresh, AUTO_REFRESH_MS) : null;
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ACTOR_KEY);
    state.selected = null;
    state.jobs = [];
    $('job').hidden = true;
    notice('');
    showSignedIn(false);
    $('token').focus();
  }

  async function signIn(event) {
    event.preventDefault();
    clearError();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    const actor = $('actor-name').value.trim();
    if (actor === '') sessionStorage.removeItem(ACTOR_KEY);
    else sessionStorage.setItem(ACTOR_KEY, actor);
    $('token').value = '';
    try {
      await loadJobs();
      showSignedIn(true);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) sessionStorage.removeItem(TOKEN_KEY);
      showError(error);
    }
  }

  // ── jobs ────────────────────────────────────────────────────────────────────
  async function loadJobs() {
    const { jobs } = await api('GET', 'jobs');
    state.jobs = jobs;
    renderJobs();
    $('updated').textContent = `updated ${time(new Date().toISOString()).textContent}`;
    if (state.selected !== null) renderJob();
  }

  function renderJobs() {
    const rows = state.jobs.map((job) => {
      const open = el('button', { text: job.id, className: 'link mono', title: 'Show actions and recent runs' });
      open.type = 'button';
      open.addEventListener('click', () => selectJob(job.id));
      const stateCell = el('td', {}, [badge(job.paused ? 'paused' : 'enabled')]);
      if (job.paused && job.pauseNote) stateCell.append(el('div', { text: job.pauseNote, className: 'note' }));
      const last = el('td', {}, [time(job.lastRunAt)]);
      if (job.lastStatus) last.append(' ', badge(job.lastStatus));
      const row = el('tr', { className: job.id === state.selected ? 'selected' : '' }, [
        el('td', {}, [open, job.description ? el('div', { text: job.description, className: 'sub' }) : null]),
        stateCell,
        el('td', {}, [schedule(job)]),
        el('td', {}, [job.paused ? el('span', { text: 'paused', className: 'muted' }) : time(job.nextDueAt)]),
        last,
        el('td', { text: job.running, className: 'num' }),
        el('td', { text: job.recentFailures, className: job.recentFailures > 0 ? 'num bad-text' : 'num' }),
      ]);
      row.dataset.job = job.id;
      return row;
    });
    $('jobs').tBodies[0].replaceChildren(...rows);
    $('no-jobs').hidden = state.jobs.length > 0;
  }

  function selectJob(id) {
    clearError();
    state.selected = id;
    $('pause-note').value = '';
    $('run-params').value = '';
    renderJobs();
    renderJob();
    $('job').hidden = false;
    loadRuns().catch(showError);
    loadAudit().catch(showError);
  }

  function renderJob() {
    const job = state.jobs.find((j) => j.id === state.selected);
    if (!job) {
      // Removed meanwhile (or never there).
      state.selected = null;
      $('job').hidden = true;
      return;
    }
    $('job-id').textContent = job.id;
    $('job-state').replaceWith(Object.assign(badge(job.paused ? 'paused' : 'enabled'), { id: 'job-state' }));
    $('job-description').textContent = job.description || '';
    $('job-note').textContent = job.paused && job.pauseNote ? `Paused: ${job.pauseNote}` : '';
    $('job-note').hidden = !(job.paused && job.pauseNote);
    $('pause-form').hidden = job.paused;
    $('resume-form').hidden = !job.paused;
  }

  // ── runs ────────────────────────────────────────────────────────────────────
  async function loadRuns() {
    const id = state.selected;
    if (id === null) return [];
    const { runs } = await api('GET', jobPath(id, '/runs?limit=20'));
    if (id !== state.selected) return runs;
    const rows = runs.map((run) => {
      const row = el('tr', {}, [
        el('td', {}, [badge(run.status)]),
        el('td', { text: run.triggerSource }),
        el('td', {}, [time(run.scheduledFor)]),
        el('td', {}, [time(run.startedAt)]),
        el('td', {}, [time(run.finishedAt)]),
        el('td', { text: run.attempt, className: 'num' }),
        el('td', { text: Object.keys(run.params || {}).length === 0 ? '' : JSON.stringify(run.params), className: 'mono params' }),
        el('td', { text: run.error || '', className: 'error-text' }),
      ]);
      row.dataset.run = run.runId;
      row.title = `run ${run.runId}`;
      return row;
    });
    $('runs').tBodies[0].replaceChildren(...rows);
    $('no-runs').hidden = runs.length > 0;
    return runs;
  }

  // ── activity (the audit trail of the selected job) ──────────────────────────
  async function loadAudit() {
    const id = state.selected;
    if (id === null) return [];
    const { entries } = await api('GET', `audit?jobId=${encodeURIComponent(id)}&limit=20`);
    if (id !== state.selected) return entries;
    const rows = entries.map((entry) =>
      el('tr', {}, [
        el('td', {}, [time(entry.at)]),
        el('td', { text: entry.action }),
        el('td', {}, [entry.actor ? el('span', { text: entry.actor, className: 'mono' }) : el('span', { text: '—', className: 'muted' })]),
        el('td', {
          text: entry.details && Object.keys(entry.details).length > 0 ? JSON.stringify(entry.details) : '',
          className: 'mono params',
        }),
      ]),
    );
    $('audit').tBodies[0].replaceChildren(...rows);
    $('no-audit').hidden = entries.length > 0;
    return entries;
  }

  // ── actions ─────────────────────────────────────────────────────────────────
  async function act(work) {
    clearError();
    state.busy = true;
    try {
      await work();
    } catch (error) {
      showError(error);
    } finally {
      state.busy = false;
    }
  }

  function pause(event) {
    event.preventDefault();
    const id = state.selected;
    const note = $('pause-note').value.trim();
    return act(async () => {
      await api('POST', jobPath(id, '/pause'), note === '' ? {} : { note });
      $('pause-note').value = '';
      notice(`Paused ${id}.`);
      await loadJobs();
      await loadAudit();
    });
  }

  function resume(event) {
    event.preventDefault();
    const id = state.selected;
    return act(async () => {
      await api('POST', jobPath(id, '/resume'));
      notice(`Resumed ${id}.`);
      await loadJobs();
      await loadAudit();
    });
  }

  function readParams() {
    const text = $('run-params').value.trim();
    if (text === '') return undefined;
    let params;
    try {
      params = JSON.parse(text);
    } catch (error) {
      throw new Error(`Params are not valid JSON: ${error.message}`);
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params))
      throw new Error('Params must be a JSON object, such as {"key": "value"}');
    return params;
  }

  function runNow(event) {
    event.preventDefault();
    const id = state.selected;
    return act(async () => {
      const params = readParams();
      const run = await api('POST', jobPath(id, '/run-now'), params === undefined ? {} : { params });
      notice(`Run ${run.runId} of ${id} triggered.`);
      loadAudit().catch(showError);
      follow(id, run.runId).catch(showError);
    });
  }

  /** A `datetime-local` value (the browser's local time) as an ISO instant. */
  function localInstant(inputId, label) {
    const value = $(inputId).value;
    const date = value === '' ? null : new Date(value);
    if (date === null || Number.isNaN(date.getTime())) throw new Error(`Backfill needs a valid "${label}" time`);
    return date.toISOString();
  }

  function backfill(event) {
    event.preventDefault();
    const id = state.selected;
    return act(async () => {
      const from = localInstant('backfill-from', 'from');
      const to = localInstant('backfill-to', 'to');
      const result = await api('POST', jobPath(id, '/backfill'), { from, to });
      notice(`Backfill of ${id}: ${result.slots} slot(s) in the window, ${result.inserted.length} run(s) created.`);
      await loadRuns();
      await loadAudit();
    });
  }

  /** Refreshes the runs until the triggered one has finished, then the jobs. */
  async function follow(id, runId) {
    for (let i = 0; i < FOLLOW_LIMIT && state.selected === id; i++) {
      const runs = await loadRuns();
      const run = runs.find((r) => r.runId === runId);
      if (run && FINISHED.has(run.status)) {
        notice(`Run ${runId} of ${id}: ${run.status}.`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
    }
    await loadJobs();
  }

  function autoRefresh() {
    if (state.busy || document.hidden) return;
    loadJobs()
      .then(() => loadRuns())
      .then(() => loadAudit())
      .catch(showError);
  }

  // ── wiring ──────────────────────────────────────────────────────────────────
  function start() {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', () => {
      clearError();
      signOut();
    });
    $('error-close').addEventListener('click', clearError);
    $('refresh').addEventListener('click', () =>
      act(async () => {
        await loadJobs();
        await loadRuns();
      }),
    );
    $('runs-refresh').addEventListener('click', () => act(loadRuns));
    $('job-close').addEventListener('click', () => {
      state.selected = null;
      $('job').hidden = true;
      renderJobs();
    });
    $('pause-form').addEventListener('submit', pause);
    $('resume-form').addEventListener('submit', resume);
    $('run-form').addEventListener('submit', runNow);
    $('backfill-form').addEventListener('submit', backfill);

    if (sessionStorage.getItem(TOKEN_KEY) === null) {
      showSignedIn(false);
      return;
    }
    loadJobs()
      .then(() => showSignedIn(true))
      .catch((error) => {
        showSignedIn(false);
        showError(error);
      });
  }

  start();
})();
