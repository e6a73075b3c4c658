/**
 * The admin page in a real headless browser (Debian's chromium through playwright-core),
 * against a real scheduler and worker (PostgreSQL + RabbitMQ) behind createAdminHandler on
 * a loopback server: sign in, the jobs table, pause with a note, run now, the runs view,
 * errors, stored strings rendered as text under the CSP, and framing only by listed origins.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { createAdminHandler } from '../../src/http/index.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { listen, type LoopbackServer } from '../helpers/listen.js';
import { waitFor } from '../helpers/wait.js';
import { adapterFixture, type AdapterFixture } from './setup.js';

const TOKEN = 'page-browser-token-0123456789';
const XSS = '<img src=x onerror=alert(1)>';
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Yearly, like `report`: it runs only when the test asks. Its handler fails with markup.
const hostile = defineJob({
  id: 'hostile',
  queue: 'hostile',
  schedule: { cron: '0 0 1 1 *' },
  description: XSS,
  retry: { maxAttempts: 1 },
});

const present = existsSync(CHROMIUM);
const suite = present ? describe : describe.skip;

suite(
  present
    ? 'admin page in headless chromium (real scheduler, worker, PostgreSQL, RabbitMQ)'
    : `admin page in headless chromium: SKIPPED, ${CHROMIUM} is absent (apt-get install chromium; .ci/run does)`,
  () => {
    let fx: AdapterFixture;
    let browser: Browser;
    let server: LoopbackServer;
    let url: string;

    interface Session {
      page: Page;
      consoleErrors: string[];
      dialogs: string[];
      requests: string[];
    }

    const sessions: Session[] = [];

    async function open(contextOptions: Parameters<Browser['newContext']>[0] = {}): Promise<Session> {
      const context = await browser.newContext(contextOptions);
      const page = await context.newPage();
      const session: Session = { page, consoleErrors: [], dialogs: [], requests: [] };
      page.on('console', (message) => {
        if (message.type() === 'error') session.consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => session.consoleErrors.push(`pageerror: ${error.message}`));
      page.on('dialog', (dialog) => {
        session.dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      page.on('request', (request) => session.requests.push(request.url()));
      sessions.push(session);
      return session;
    }

    async function signIn(page: Page, token = TOKEN, name?: string): Promise<void> {
      await page.goto(`${url}/admin/`);
      await page.locator('#token').fill(token);
      if (name !== undefined) await page.locator('#actor-name').fill(name);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    async function openJob(page: Page, id: string): Promise<void> {
      await page.locator(`#jobs tbody tr[data-job="${id}"] button`).click();
      await page.locator('#job-id', { hasText: id }).waitFor();
    }

    beforeAll(async () => {
      fx = await adapterFixture('page', [
        {
          definition: hostile,
          handler: () => {
            throw new Error(XSS);
          },
        },
      ]);
      server = await listen(createAdminHandler({ control: fx.scheduler, token: TOKEN, basePath: '/admin' }));
      url = server.url;
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await fx?.teardown();
    });

    it('loads under its CSP with no inline script; signing in shows the jobs table; the token stays out of URLs and cookies', async () => {
      const { page, consoleErrors, requests } = await open();
      const response = await page.goto(`${url}/admin`);
      // The bare mount path redirects to the directory the page's relative URLs need.
      expect(page.url()).toBe(`${url}/admin/`);
      expect(response?.headers()['content-security-policy']).toBe(CSP);
      expect(await page.locator('script:not([src])').count()).toBe(0);
      expect(await page.locator('style, [style]').count()).toBe(0);
      await page.locator('#sign-in').waitFor();
      expect(await page.locator('#app').isHidden()).toBe(true);

      await page.locator('#token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const row = page.locator('#jobs tbody tr[data-job="report"]');
      await row.waitFor();
      const details = await fx.scheduler.get('report');
      const schedule = details.schedule!;
      expect(schedule.kind).toBe('cron');
      const cells = await row.locator('td').allInnerTexts();
      expect(cells[0]).toContain('report');
      expect(cells[0]).toContain('yearly report');
      expect(cells[1]).toBe('enabled');
      expect(cells[2]).toBe(schedule.kind === 'cron' ? `${schedule.cron} (${schedule.tz})` : '');
      expect(cells[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(cells[5]).toBe('0');
      expect(await page.locator('#jobs tbody tr[data-job="hostile"]').count()).toBe(1);

      expect(await page.evaluate('Object.entries(sessionStorage)')).toEqual([['warren.adminToken:/admin/', TOKEN]]);
      expect(await page.evaluate('document.cookie')).toBe('');
      expect(requests.some((r) => r.includes(TOKEN))).toBe(false);
      expect(consoleErrors).toEqual([]);
    });

    it('a wrong token shows a clear error and keeps the user signed out', async () => {
      const { page, consoleErrors } = await open();
      await signIn(page, 'not-the-right-token-at-all');
      const error = page.locator('#error');
      await error.waitFor();
      expect(await error.innerText()).toContain(
        'Sign-in failed: the admin API refused this token (ERR_UNAUTHORIZED: Invalid bearer token)',
      );
      expect(await page.locator('#app').isHidden()).toBe(true);
      expect(await page.locator('#sign-in').isVisible()).toBe(true);
      expect(await page.evaluate('sessionStorage.length')).toBe(0);
      // The browser logs the refused request itself; nothing else.
      expect(consoleErrors.every((e) => /status of 401/.test(e))).toBe(true);
    });

    it('pauses a job with a note (and get() agrees), then resumes it', async () => {
      const { page, consoleErrors } = await open();
      await signIn(page);
      await openJob(page, 'report');
      await page.locator('#pause-note').fill('broker maintenance until 14:00');
      await page.getByRole('button', { name: 'Pause' }).click();
      const row = page.locator('#jobs tbody tr[data-job="report"]');
      await row.locator('td', { hasText: 'paused' }).first().waitFor();
      expect(await row.locator('td').nth(1).innerText()).toBe('paused\nbroker maintenance until 14:00');
      expect(await page.locator('#job-note').innerText()).toBe('Paused: broker maintenance until 14:00');
      expect(await fx.scheduler.get('report')).toMatchObject({ paused: true, pauseNote: 'broker maintenance until 14:00' });

      await page.getByRole('button', { name: 'Resume' }).click();
      await row.locator('td', { hasText: /^enabled$/ }).waitFor();
      expect(await fx.scheduler.get('report')).toMatchObject({ paused: false });
      expect(consoleErrors).toEqual([]);
    });

    it('runs a job now with JSON params and shows the run succeed in the runs view', async () => {
      const { page, consoleErrors } = await open();
      await signIn(page);
      await openJob(page, 'report');
      await page.locator('#run-params').fill('{"reason": "from the page"}');
      await page.getByRole('button', { name: 'Run now' }).click();
      const execution = await waitFor(
        () => fx.executions.find((e) => e.params.reason === 'from the page'),
        'the worker to run the manual run',
      );
      expect(execution.trigger).toBe('manual');
      const run = page.locator(`#runs tbody tr[data-run="${execution.runId}"]`);
      await run.locator('td', { hasText: 'succeeded' }).waitFor();
      const cells = await run.locator('td').allInnerTexts();
      expect(cells[0]).toBe('succeeded');
      expect(cells[1]).toBe('manual');
      expect(cells[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(cells[4]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(JSON.parse(cells[6]!)).toMatchObject({ reason: 'from the page' });
      expect(cells[7]).toBe('');
      expect(consoleErrors).toEqual([]);
    });

    it("names the signed-in person in the job's activity, and backfills a window given in the browser's time zone", async () => {
      const { page, consoleErrors } = await open({ timezoneId: 'Asia/Seoul' });
      await signIn(page, TOKEN, 'alice');
      await page.locator('#signed-in-as', { hasText: 'signed in as alice' }).waitFor();
      await openJob(page, 'report');
      await page.locator('#pause-note').fill('quarter close');
      await page.getByRole('button', { name: 'Pause' }).click();
      const newest = page.locator('#audit tbody tr').first();
      await newest.locator('td', { hasText: /^pause$/ }).waitFor();
      const cells = await newest.locator('td').allInnerTexts();
      expect(cells.slice(1)).toEqual(['pause', 'page:alice', '{"note":"quarter close"}']);
      expect((await fx.scheduler.audit({ jobId: 'report', limit: 1 }))[0]).toMatchObject({ action: 'pause', actor: 'page:alice' });
      await page.getByRole('button', { name: 'Resume' }).click();
      await newest.locator('td', { hasText: /^resume$/ }).waitFor();

      // 08:30-09:30 in Seoul is 23:30-00:30 UTC around New Year: the yearly slot 2025-01-01T00:00Z.
      await page.locator('#backfill-from').fill('2025-01-01T08:30:00');
      await page.locator('#backfill-to').fill('2025-01-01T09:30:00');
      await page.getByRole('button', { name: 'Backfill' }).click();
      await page.locator('#notice', { hasText: 'Backfill of report' }).waitFor();
      expect(await page.locator('#notice').innerText()).toBe('Backfill of report: 1 slot(s) in the window, 1 run(s) created.');
      const backfilled = (await fx.scheduler.runs('report', { limit: 100 })).filter((r) => r.triggerSource === 'backfill');
      expect(backfilled.map((r) => r.scheduledFor.toISOString())).toEqual(['2025-01-01T00:00:00.000Z']);
      await page.locator(`#runs tbody tr[data-run="${backfilled[0]!.runId}"]`).waitFor();
      await newest.locator('td', { hasText: /^backfill$/ }).waitFor();
      expect(await newest.locator('td').nth(2).innerText()).toBe('page:alice');

      // Signing out forgets the name with the token.
      await page.locator('#sign-out').click();
      expect(await page.evaluate('sessionStorage.length')).toBe(0);
      expect(consoleErrors).toEqual([]);
    });

    it('shows bad params and every API error with its message', async () => {
      const { page } = await open();
      await fx.scheduler.upsert({ id: 'short-lived', queue: 'reports', schedule: { every: '1h' } });
      await signIn(page);
      await openJob(page, 'short-lived');
      await page.locator('#run-params').fill('[1, 2]');
      await page.getByRole('button', { name: 'Run now' }).click();
      await page.locator('#error').waitFor();
      expect(await page.locator('#error-text').innerText()).toBe('Params must be a JSON object, such as {"key": "value"}');

      // Removed behind the page's back: the API's 404 is shown as it came.
      await fx.scheduler.remove('short-lived');
      await page.locator('#pause-note').fill('too late');
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.locator('#error-text', { hasText: 'ERR_JOB_NOT_FOUND' }).waitFor();
      expect(await page.locator('#error-text').innerText()).toMatch(/^ERR_JOB_NOT_FOUND: .*short-lived/);
      expect(await page.locator('#app').isVisible()).toBe(true);
    });

    it('may be framed only by an origin the host lists in frameAncestors', async () => {
      // Another origin (its own port) whose page frames the admin page.
      let target = '';
      const framer = await listen((_req, res) => {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(`<!doctype html><title>dashboard</title><iframe src="${target}"></iframe>`);
      });
      const framerUrl = `${framer.url}/`;
      const listed = await listen(createAdminHandler({ control: fx.scheduler, token: TOKEN, frameAncestors: [framer.url] }));
      try {
        // `goto` waits for the load event, which waits for the frame (loaded or refused).
        const framed = async (adminUrl: string) => {
          target = adminUrl;
          const { page, consoleErrors } = await open();
          await page.goto(framerUrl);
          const frame = page.frames().find((f) => f !== page.mainFrame())!;
          return { url: frame.url(), forms: await frame.locator('#sign-in-form').count(), consoleErrors };
        };
        const refused = await framed(`${url}/admin/`);
        expect(refused.forms).toBe(0);
        expect(refused.url).toMatch(/^chrome-error:/);
        expect(refused.consoleErrors.join('\n')).toMatch(/frame-ancestors 'none'/);
        const allowed = await framed(`${listed.url}/`);
        expect(allowed.forms).toBe(1);
        expect(allowed.consoleErrors).toEqual([]);
      } finally {
        await framer.close();
        await listed.close();
      }
    });

    it('renders stored markup (description, pause note, params, error) as text: no element, no script', async () => {
      await fx.scheduler.pause('hostile', { note: XSS });
      const manual = await fx.scheduler.runNow('hostile', { params: { html: XSS } });
      await waitFor(
        async () => ['failed', 'dead'].includes((await fx.store.getRun(manual.runId))?.status ?? ''),
        'the hostile run to fail',
      );

      const { page, consoleErrors, dialogs, requests } = await open();
      await signIn(page);
      const row = page.locator('#jobs tbody tr[data-job="hostile"]');
      await row.waitFor();
      await openJob(page, 'hostile');
      const run = page.locator(`#runs tbody tr[data-run="${manual.runId}"]`);
      await run.waitFor();

      const cells = await row.locator('td').allInnerTexts();
      expect(cells[0]).toBe(`hostile\n${XSS}`);
      expect(cells[1]).toBe(`paused\n${XSS}`);
      expect(await page.locator('#job-description').innerText()).toBe(XSS);
      expect(await page.locator('#job-note').innerText()).toBe(`Paused: ${XSS}`);
      const runCells = await run.locator('td').allInnerTexts();
      expect(JSON.parse(runCells[6]!)).toEqual({ html: XSS });
      expect(runCells[7]).toContain(XSS);
      const pauseEntry = page.locator('#audit tbody tr', { hasText: 'pause' }).first();
      await pauseEntry.waitFor();
      expect(JSON.parse((await pauseEntry.locator('td').allInnerTexts())[3]!)).toEqual({ note: XSS });

      expect(await page.locator('img').count()).toBe(0);
      expect(dialogs).toEqual([]);
      expect(requests.some((r) => new URL(r).pathname.endsWith('/x'))).toBe(false);
      expect(consoleErrors).toEqual([]);
    });
  },
);
