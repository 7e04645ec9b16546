/**
 * Issue 6, end to end in headless Chromium: two banks and a regulator, each in its own browser context,
 * do the whole flow through the console (apps/console) against the real platform (server + enclave
 * processes). Bank A signs in with its key file and the trust settings from credentials.json, creates a
 * federated session (bank A and bank B participants, the regulator observing); bank B joins by code; both
 * contribute a records file (encrypted in the page), consent, and bank A runs; all three read the result
 * and see the verification panel pass. The regulator has no contribute control and a direct upload is
 * refused; a context whose pinned measurement is wrong sees the key's verification fail and cannot upload.
 * The real tampering case, by Playwright route interception in one context each: bank B's session-key reply
 * gets one byte of its attestation's COSE signature flipped (the document is checked in Node to fail with
 * `signature_invalid`); the console shows the failed check, keeps the upload disabled (and its submit
 * handler refuses), no data request leaves the page and the server records no submission from bank B. In a
 * second bank A context, the result reply's attestation is tampered the same way and the result panel shows
 * the failed verification and not the result. Every page's console errors and uncaught errors fail the test
 * (none is expected: the console reports failures in the page, never with console.error).
 * Screenshots: test-artifacts/console/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { equalBytes, fromBase64Url, parseCoseSign1, toBase64Url } from '@tenzro/crypto';
import { verifyAttestation } from '@tenzro/platform';
import { parseAttestationDocument } from '@tenzro/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_MISSING, chromiumAvailable, consoleOrigin, launchBrowser, watchPage } from '../support/browser.js';
import { demoPartitions, devParties, http, sdkFor, REGULATOR } from '../support/flow.js';
import { PlatformProcess, repoRoot, type DevParty } from '../support/platform-process.js';

const ARTIFACTS = join(repoRoot, 'test-artifacts', 'console');
const BANK_A = 'party::bankA::treasury';
const BANK_B = 'party::bankB::treasury';
const STEP_TIMEOUT = 30_000;
/** What the SDK's verifier says about a document whose COSE signature has a flipped byte. */
const SIGNATURE_INVALID_MESSAGE = 'attestation document signature does not verify under its certificate';

/** The attestation document (base64url COSE_Sign1) with one byte of its signature flipped. */
function flipSignatureByte(document: string): string {
  const bytes = fromBase64Url(document, 'attestation');
  const { signature } = parseCoseSign1(bytes);
  const at = bytes.length - signature.length;
  // The signature is the message's last element: its bytes end the document.
  if (signature.length === 0 || !equalBytes(bytes.subarray(at), signature)) throw new Error('the COSE signature does not end the document');
  const tampered = bytes.slice();
  tampered[at + 10] ^= 0x01;
  return toBase64Url(tampered);
}

/**
 * Intercepts GET `path` in `page` and hands the page the real reply with its `attestation` tampered by
 * `flipSignatureByte`; the originals and the tampered documents are collected.
 */
async function tamperAttestationReplies(page: Page, path: string): Promise<{ original: string[]; tampered: string[] }> {
  const seen = { original: [] as string[], tampered: [] as string[] };
  await page.route(
    (url) => url.pathname === path,
    async (route: Route) => {
      if (route.request().method() !== 'GET') return route.continue();
      const response = await route.fetch();
      const json = (await response.json()) as { attestation?: unknown };
      if (!response.ok() || typeof json.attestation !== 'string') return route.fulfill({ response });
      const tampered = flipSignatureByte(json.attestation);
      seen.original.push(json.attestation);
      seen.tampered.push(tampered);
      await route.fulfill({ response, json: { ...json, attestation: tampered } });
    },
  );
  return seen;
}

const available = chromiumAvailable();
// CI installs Chromium (.ci/run): there, a missing browser is a failure, not a skip.
if (!available && process.env.CI === 'true') throw new Error(`[console e2e] ${CHROMIUM_MISSING} (CI=true: the browser test must run)`);
if (!available) console.log(`[console e2e] SKIPPED: ${CHROMIUM_MISSING}`);

describe.skipIf(!available)('console end to end in headless Chromium (issue 6)', () => {
  let server: PlatformProcess;
  let browser: Browser;
  let origin: string;
  let closeOrigin: () => Promise<void> = async () => undefined;
  let files: string;
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];
  let shot = 0;

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    files = mkdtempSync(join(tmpdir(), 'tenzro-console-e2e-'));
    [server, browser] = await Promise.all([PlatformProcess.start(), launchBrowser()]);
    const served = await consoleOrigin(server.baseUrl);
    origin = served.origin;
    closeOrigin = served.close;
    const partitions = demoPartitions(300, 11);
    writeFileSync(join(files, 'bankA-records.json'), JSON.stringify(partitions.bankA));
    writeFileSync(join(files, 'bankB-records.json'), JSON.stringify(partitions.bankB));
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await closeOrigin();
    await server?.stop();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  const keyFile = (party: DevParty): string => join(server.dataDir, 'dev', `${party.partyId.replaceAll('::', '__')}.key.json`);
  const credentialsFile = (): string => join(server.dataDir, 'dev', 'credentials.json');

  async function screenshot(page: Page, name: string): Promise<void> {
    shot += 1;
    await page.screenshot({ path: join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  }

  async function openConsole(label: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    watchPage(page, label, problems);
    await page.goto(origin);
    return page;
  }

  /** Signs in through the form: API key, key file, trust settings imported from credentials.json. */
  async function signIn(page: Page, party: DevParty, options: { measurement?: string } = {}): Promise<void> {
    await page.getByLabel('API key', { exact: true }).fill(party.apiKey);
    await page.getByLabel('Party key file').setInputFiles(keyFile(party));
    await expect.poll(() => page.getByTestId('key-file-party').textContent()).toContain(party.partyId);
    await page.getByLabel('Import from a credentials file (optional)').setInputFiles(credentialsFile());
    const measurement = page.getByLabel('Expected enclave measurement (PCR0, hex)');
    await expect.poll(() => measurement.inputValue()).toBe(server.credentials().attestation.measurement);
    if (options.measurement !== undefined) await measurement.fill(options.measurement);
    expect(await page.getByLabel('Tenant id').inputValue()).toBe(party.tenantId);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-party').textContent()).toBe(party.partyId);
  }

  async function joinByCode(page: Page, code: string): Promise<void> {
    await page.getByLabel('Join code').fill(code);
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByRole('heading', { name: 'Console flow', level: 2 }).waitFor();
  }

  async function contribute(page: Page, file: string): Promise<void> {
    await page.getByTestId('key-attestation').filter({ hasText: 'Enclave verified' }).waitFor();
    await page.getByLabel('Records file (JSON array)').setInputFiles(file);
    await page.getByRole('button', { name: 'Encrypt and upload' }).click();
    await page.getByTestId('contribution-receipt').waitFor();
  }

  async function consent(page: Page): Promise<void> {
    const button = page.getByRole('button', { name: 'I consent to these terms' });
    await button.waitFor();
    // The statement says what is consented to, next to the button it describes.
    const statement = page.locator('.tenzro-consent-statement');
    await expect.poll(() => statement.textContent()).toMatch(/Data usage:[\s\S]*Result sharing:[\s\S]*Attestation sharing:[\s\S]*Retention:/);
    await button.click();
    await page.getByText('You have consented.').waitFor();
  }

  /** Waits for the verification panel; re-verifies while a late check (deletion) is still pending. */
  async function verificationPassed(page: Page): Promise<void> {
    const panel = page.getByTestId('verification-panel');
    await panel.waitFor({ timeout: 60_000 });
    for (let attempt = 0; attempt < 10; attempt++) {
      if ((await panel.getAttribute('data-verdict')) === 'passed') break;
      await page.waitForTimeout(500);
      await panel.getByRole('button', { name: 'Verify again' }).click();
      await page.getByTestId('verification-panel').waitFor();
    }
    const verdict = await panel.getAttribute('data-verdict');
    expect(verdict, `verification panel: ${await panel.textContent()}`).toBe('passed');
    expect(await panel.getByTestId('verify-attestation').textContent()).toMatch(/^Verified: simulated enclave/);
    expect(await panel.getByTestId('verify-measurement').textContent()).toContain(server.credentials().attestation.measurement);
    expect(await panel.getByTestId('verify-measurement').textContent()).toContain('(matches your pinned measurement)');
    expect(await panel.getByTestId('verify-consents').textContent()).toMatch(/^Passed/);
  }

  /**
   * In Node, under the console's trust settings and at the document's own timestamp: the original document
   * verifies and the tampered one fails with `signature_invalid` (the code behind the message the page shows).
   */
  async function expectSignatureInvalid(seen: { original: string[]; tampered: string[] }): Promise<void> {
    expect(seen.tampered.length).toBeGreaterThan(0);
    const original = seen.original[0]!;
    const now = new Date(parseAttestationDocument(fromBase64Url(original, 'attestation')).timestamp);
    const trust = { roots: [server.credentials().attestation.rootPem], expectedMeasurements: [server.credentials().attestation.measurement], now };
    await verifyAttestation(original, trust);
    await expect(verifyAttestation(seen.tampered[0]!, trust)).rejects.toMatchObject({
      name: 'AttestationError',
      code: 'signature_invalid',
      message: SIGNATURE_INVALID_MESSAGE,
    });
  }

  it('two banks and a regulator do the whole flow; a wrong pinned measurement or a tampered attestation blocks the upload', async () => {
    const parties = devParties(server);
    const bankA = parties.bankA!;
    const bankB = parties.bankB!;
    const regulator = parties.regulator!;
    expect(regulator.partyId).toBe(REGULATOR);

    // Bank A signs in and creates the session.
    const a = await openConsole('bankA');
    await screenshot(a, 'sign-in-form');
    await signIn(a, bankA);
    await a.getByRole('button', { name: 'New session' }).click();
    await a.getByLabel('Name', { exact: true }).fill('Console flow');
    await a.getByLabel('Participants', { exact: true }).fill(`${BANK_A}\n${BANK_B}`);
    await a.getByLabel('Observers (optional)').fill(REGULATOR);
    await a.getByLabel('Minimum participants (optional)').fill('2');
    await screenshot(a, 'bankA-create-form');
    await a.getByRole('button', { name: 'Create session' }).click();
    await a.getByRole('heading', { name: 'Console flow', level: 2 }).waitFor();
    const joinCode = (await a.locator('dt:text-is("Join code") + dd').textContent())!.trim();
    expect(joinCode).not.toBe('');
    const sessionId = (await sdkFor(server, bankA).ai.findSessionByJoinCode(joinCode)).id;
    await screenshot(a, 'bankA-session-created');

    // A context that pins the wrong measurement (a tampered attestation, as that client sees it).
    const tampered = await openConsole('bankB-wrong-measurement');
    const wrong = server.credentials().attestation.measurement.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await signIn(tampered, bankB, { measurement: wrong });
    await joinByCode(tampered, joinCode);
    const failed = tampered.getByTestId('key-attestation');
    await failed.filter({ hasText: 'Verification failed' }).waitFor();
    expect(await failed.textContent()).toContain('Upload is blocked');
    expect(await failed.getAttribute('data-code')).toBe('measurement_mismatch');
    expect(await tampered.getByRole('button', { name: 'Encrypt and upload' }).isDisabled()).toBe(true);
    await tampered.getByLabel('Records file (JSON array)').setInputFiles(join(files, 'bankB-records.json'));
    expect(await tampered.getByRole('button', { name: 'Encrypt and upload' }).isDisabled()).toBe(true);
    await screenshot(tampered, 'wrong-measurement-blocks-upload');
    expect((await http(server, bankB, 'GET', `/v1/sessions/${sessionId}/status`)).body.dataSubmittedBy).toEqual([]);

    // The real case: bank B's session-key reply reaches the page with one byte of its attestation's COSE
    // signature flipped. The check fails (signature_invalid), the upload stays blocked, nothing is sent.
    const forged = await openConsole('bankB-tampered-key');
    const forgedKeys = await tamperAttestationReplies(forged, `/v1/sessions/${sessionId}/key`);
    const dataRequests: string[] = [];
    forged.on('request', (request) => {
      if (request.method() !== 'GET' && /\/v1\/sessions\/[^/]+\/data/.test(new URL(request.url()).pathname)) dataRequests.push(request.url());
    });
    await signIn(forged, bankB);
    await joinByCode(forged, joinCode);
    const keyCheck = forged.getByTestId('key-attestation');
    await keyCheck.filter({ hasText: 'Verification failed' }).waitFor();
    expect(await keyCheck.textContent()).toContain('Upload is blocked');
    expect(await keyCheck.locator('.console-detail').textContent()).toBe(`${SIGNATURE_INVALID_MESSAGE} (signature_invalid)`);
    expect(await keyCheck.getAttribute('data-code')).toBe('signature_invalid');
    await expectSignatureInvalid(forgedKeys);
    const upload = forged.getByRole('button', { name: 'Encrypt and upload' });
    expect(await upload.isDisabled()).toBe(true);
    await forged.getByLabel('Records file (JSON array)').setInputFiles(join(files, 'bankB-records.json'));
    expect(await upload.isDisabled()).toBe(true);
    // Submitting the form anyway (past the disabled button) is refused by the console itself.
    await forged.getByRole('form', { name: 'Contribute records' }).evaluate((form) => (form as HTMLFormElement).requestSubmit());
    await forged.getByRole('form', { name: 'Contribute records' }).getByRole('alert').filter({ hasText: 'The enclave is not verified: nothing is uploaded.' }).waitFor();
    await screenshot(forged, 'tampered-key-attestation-blocks-upload');
    expect(dataRequests).toEqual([]);
    expect((await http(server, bankB, 'GET', `/v1/sessions/${sessionId}/status`)).body.dataSubmittedBy).toEqual([]);

    // Bank B and the regulator join by code.
    const b = await openConsole('bankB');
    await signIn(b, bankB);
    await joinByCode(b, joinCode);
    await screenshot(b, 'bankB-joined');
    const r = await openConsole('regulator');
    await signIn(r, regulator);
    await joinByCode(r, joinCode);
    await r.getByTestId('observer-note').waitFor();
    expect(await r.getByLabel('Records file (JSON array)').count()).toBe(0);
    expect(await r.getByRole('button', { name: 'Encrypt and upload' }).count()).toBe(0);
    expect(await r.getByRole('button', { name: 'I consent to these terms' }).count()).toBe(0);
    await screenshot(r, 'regulator-no-contribute-control');

    // Both banks contribute (encrypted in the page) and consent.
    await contribute(a, join(files, 'bankA-records.json'));
    await screenshot(a, 'bankA-contributed');
    await contribute(b, join(files, 'bankB-records.json'));
    await screenshot(b, 'bankB-contributed');
    await consent(a);
    await consent(b);
    await screenshot(b, 'bankB-consented');

    // The regulator's direct attempt to upload is refused by the platform.
    const direct = await http(server, regulator, 'POST', `/v1/sessions/${sessionId}/data`, new Uint8Array([1, 2, 3, 4]), {
      'x-tenzro-party-id': REGULATOR,
      'x-tenzro-data-schema': 'transaction_records_v1',
      'x-tenzro-commitment': `sha256:${'0'.repeat(64)}`,
      'x-tenzro-commitment-scheme': 'plain',
    });
    expect(direct.status, JSON.stringify(direct.body)).toBe(403);
    await expect(sdkFor(server, regulator).ai.contribute({ sessionId, data: [], dataSchema: 'transaction_records_v1' })).rejects.toThrow();

    // Bank A runs, once the live status says the session is ready.
    const run = a.getByRole('button', { name: 'Run inference' });
    await expect.poll(() => run.isEnabled(), { timeout: STEP_TIMEOUT }).toBe(true);
    await a.getByLabel('Prompt').fill('Assess cross-bank transaction risk for Q4.');
    await screenshot(a, 'bankA-ready-to-run');
    await run.click();

    // All three read the result and see the verification pass.
    for (const [label, page] of [['bankA', a], ['bankB', b], ['regulator', r]] as const) {
      await verificationPassed(page);
      const own = await page.getByTestId('verify-own-commitment').textContent();
      if (label === 'regulator') expect(own).toMatch(/^Not applicable/);
      else expect(own).toMatch(/^Passed/);
      expect(await page.getByTestId('result-content').textContent()).toContain(BANK_A);
      await page.getByTestId('timeline').locator('[data-status="completed"][aria-current="step"]').waitFor();
      expect(await page.getByTestId('audit-trail').locator('tr[data-kind="result_released"]').count()).toBe(1);
      await screenshot(page, `${label}-result-verified`);
    }
    // The tampered context cannot open the result either: its verification panel fails.
    await tampered.getByTestId('verification-panel').filter({ hasText: 'Verification failed' }).waitFor({ timeout: 60_000 });
    await screenshot(tampered, 'wrong-measurement-result-verification-failed');

    // A bank A context whose result reply carries a tampered attestation: the result is not accepted.
    const forgedResult = await openConsole('bankA-tampered-result');
    const forgedReports = await tamperAttestationReplies(forgedResult, `/v1/sessions/${sessionId}/result`);
    await signIn(forgedResult, bankA);
    await joinByCode(forgedResult, joinCode);
    const resultPanel = forgedResult.getByTestId('verification-panel');
    await resultPanel.filter({ hasText: 'Verification failed' }).waitFor({ timeout: 60_000 });
    expect(await resultPanel.getAttribute('data-verdict')).toBe('failed');
    expect(await resultPanel.textContent()).toContain('the result was not accepted');
    expect(await resultPanel.locator('.console-detail').textContent()).toBe(`${SIGNATURE_INVALID_MESSAGE} (signature_invalid)`);
    expect(await resultPanel.getAttribute('data-code')).toBe('signature_invalid');
    expect(await forgedResult.getByTestId('result-content').count()).toBe(0);
    await expectSignatureInvalid(forgedReports);
    // Verifying again fetches the reply again: still tampered, still failed.
    const before = forgedReports.tampered.length;
    await forgedResult.getByRole('button', { name: 'Verify again' }).click();
    await expect.poll(() => forgedReports.tampered.length).toBeGreaterThan(before);
    await resultPanel.filter({ hasText: SIGNATURE_INVALID_MESSAGE }).waitFor();
    await screenshot(forgedResult, 'tampered-result-attestation-verification-failed');

    expect(problems, problems.join('\n')).toEqual([]);
  }, 240_000);
});
