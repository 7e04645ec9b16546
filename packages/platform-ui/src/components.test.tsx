// @vitest-environment happy-dom
/**
 * The product doc's components with the doc's props: what they render, that they are operable by keyboard
 * and labelled, that errors are alerts and status changes are announced, and that the manager drives the SDK.
 */
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CreateMultiPartySession } from './CreateMultiPartySession.js';
import { BANK_A, BANK_B, FakePlatform, REGULATOR, makeSession, sessionEvent } from './fake-platform.fixture.js';
import { MultiPartySessionDetail } from './MultiPartySessionDetail.js';
import { MultiPartySessionList } from './MultiPartySessionList.js';
import { MultiPartySessionManager } from './MultiPartySessionManager.js';
import { TenzroProvider } from './platform-context.js';

afterEach(cleanup);

function withPlatform(platform: FakePlatform, ui: ReactNode) {
  return render(
    <TenzroProvider platform={platform} liveRetry={{ initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 3 }}>
      {ui}
    </TenzroProvider>,
  );
}

describe('MultiPartySessionList({ sessions, onSelect })', () => {
  it('renders each session as a button and calls onSelect', () => {
    const onSelect = vi.fn();
    const sessions = [makeSession(), makeSession({ id: 'mps_beta', name: 'Credit risk', status: 'ready', dataSubmittedBy: [BANK_A, BANK_B] })];
    render(<MultiPartySessionList sessions={sessions} onSelect={onSelect} selectedId="mps_beta" />);
    const list = screen.getByRole('list', { name: 'Multi-party sessions' });
    const buttons = within(list).getAllByRole('button');
    expect(buttons).toHaveLength(2);
    expect(buttons[0]!.textContent).toContain('AML screening');
    expect(buttons[0]!.textContent).toContain('Collecting data');
    expect(buttons[1]!.textContent).toContain('data 2/2');
    expect(buttons[1]!.getAttribute('aria-current')).toBe('true');
    buttons[1]!.focus();
    expect(document.activeElement).toBe(buttons[1]);
    fireEvent.click(buttons[1]!);
    expect(onSelect).toHaveBeenCalledWith(sessions[1]);
  });

  it('says so when there are no sessions', () => {
    render(<MultiPartySessionList sessions={[]} onSelect={() => {}} />);
    expect(screen.getByText('No sessions yet.')).toBeTruthy();
  });
});

describe('MultiPartySessionDetail({ session, onSubmitData, onConsent, onRunInference })', () => {
  it('shows status and participants with submitted / consented marks', () => {
    const session = makeSession({ dataSubmittedBy: [BANK_A], consentedBy: [BANK_B] });
    render(<MultiPartySessionDetail session={session} partyId={BANK_A} />);
    expect(screen.getByRole('heading', { name: 'AML screening' })).toBeTruthy();
    expect(screen.getByText('Collecting data')).toBeTruthy();
    const table = screen.getByRole('table', { name: 'Participants' });
    const rowA = within(table).getByRole('row', { name: /bankA.*\(you\)/ });
    expect(rowA.textContent).toContain('Submitted');
    expect(rowA.textContent).not.toContain('Consented');
    const rowB = within(table).getByRole('row', { name: /bankB/ });
    expect(rowB.textContent).toContain('Consented');
    expect(screen.getByText(/Observers.*regulator/)).toBeTruthy();
  });

  it('states what the consent covers: data usage, result sharing, attestation sharing, retention', async () => {
    const onConsent = vi.fn(async () => {});
    render(<MultiPartySessionDetail session={makeSession()} partyId={BANK_A} onConsent={onConsent} />);
    const button = screen.getByRole('button', { name: 'I consent to these terms' });
    const statement = document.getElementById(button.getAttribute('aria-describedby')!)!;
    const text = statement.textContent!;
    expect(text).toContain('Data usage: your records are decrypted only inside the attested enclave');
    expect(text).toContain('risk-analyzer-v2');
    expect(text).toContain(`Result sharing: the result is shared with every party of the session (${BANK_A}, ${BANK_B}, ${REGULATOR})`);
    expect(text).toContain('Attestation sharing:');
    expect(text).toContain('Retention: your encrypted data and the session key are deleted once the inference has run.');
    fireEvent.click(button);
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Your consent was signed and recorded.'));
    expect(onConsent).toHaveBeenCalledOnce();
  });

  it('shows a failed action in an alert', async () => {
    render(<MultiPartySessionDetail session={makeSession()} onConsent={() => Promise.reject(new Error('consent_invalid: bad signature'))} />);
    fireEvent.click(screen.getByRole('button', { name: 'I consent to these terms' }));
    expect((await screen.findByRole('alert')).textContent).toBe('consent_invalid: bad signature');
  });

  it('enables run only when the session is ready, and passes the prompt', async () => {
    const onRunInference = vi.fn(async () => {});
    const { rerender } = render(<MultiPartySessionDetail session={makeSession({ status: 'awaiting_consent' })} onRunInference={onRunInference} />);
    const run = screen.getByRole('button', { name: 'Run inference' }) as HTMLButtonElement;
    expect(run.disabled).toBe(true);
    fireEvent.submit(run.form!);
    expect(onRunInference).not.toHaveBeenCalled();
    rerender(<MultiPartySessionDetail session={makeSession({ status: 'ready' })} onRunInference={onRunInference} />);
    expect((screen.getByRole('button', { name: 'Run inference' }) as HTMLButtonElement).disabled).toBe(false);
    fireEvent.change(screen.getByLabelText('Prompt'), { target: { value: 'Flag shared counterparties' } });
    fireEvent.submit(run.form!);
    await waitFor(() => expect(onRunInference).toHaveBeenCalledWith({ prompt: 'Flag shared counterparties' }));
  });

  it('announces a status change in a polite live region', () => {
    const { rerender } = render(<MultiPartySessionDetail session={makeSession({ status: 'collecting' })} />);
    const live = screen.getByRole('status');
    expect(live.getAttribute('aria-live')).toBe('polite');
    expect(live.textContent).toBe('');
    rerender(<MultiPartySessionDetail session={makeSession({ status: 'ready' })} />);
    expect(live.textContent).toBe('AML screening: status changed from Collecting data to Ready to run');
  });

  it('reads the records file as JSON and hands it to onSubmitData', async () => {
    const onSubmitData = vi.fn(async () => {});
    render(<MultiPartySessionDetail session={makeSession()} onSubmitData={onSubmitData} />);
    const records = [{ id: 1, amount: 10 }];
    const file = new File([JSON.stringify(records)], 'records.json', { type: 'application/json' });
    fireEvent.change(screen.getByLabelText('Records file (JSON)'), { target: { files: [file] } });
    expect((screen.getByLabelText('Data schema') as HTMLInputElement).value).toBe('transaction_records_v1');
    fireEvent.click(screen.getByRole('button', { name: 'Encrypt and submit data' }));
    await waitFor(() => expect(onSubmitData).toHaveBeenCalledOnce());
    expect(onSubmitData.mock.calls[0]).toEqual([{ data: records, dataSchema: 'transaction_records_v1', file }]);
    expect(screen.getByRole('status').textContent).toBe('Data from records.json was encrypted and submitted.');
  });

  it('refuses a file that is not JSON, in an alert', async () => {
    const onSubmitData = vi.fn();
    render(<MultiPartySessionDetail session={makeSession()} onSubmitData={onSubmitData} />);
    const file = new File(['not json'], 'records.csv');
    fireEvent.change(screen.getByLabelText('Records file (JSON)'), { target: { files: [file] } });
    fireEvent.click(screen.getByRole('button', { name: 'Encrypt and submit data' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/^records\.csv is not valid JSON/);
    expect(onSubmitData).not.toHaveBeenCalled();
  });

  it('offers an observer no upload, no consent and no run (the server would refuse them)', () => {
    render(
      <MultiPartySessionDetail
        session={makeSession({ yourRoles: ['observer'], status: 'ready' })}
        partyId={REGULATOR}
        onSubmitData={() => {}}
        onConsent={() => {}}
        onRunInference={() => {}}
      />,
    );
    expect(screen.queryByLabelText('Records file (JSON)')).toBeNull();
    expect(screen.queryByRole('button', { name: /consent/i })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Run inference' })).toBeNull();
  });
});

describe('CreateMultiPartySession({ onCreated })', () => {
  it('validates, shows messages in an alert and per field, and focuses the first field in error', async () => {
    const platform = new FakePlatform();
    withPlatform(platform, <CreateMultiPartySession onCreated={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Create session' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Name is required');
    expect(alert.textContent).toContain('Model is required');
    expect(alert.textContent).toContain('At least one participant is required');
    const name = screen.getByLabelText('Name');
    expect(name.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(name.getAttribute('aria-describedby')!)!.textContent).toBe('Name is required');
    expect(document.activeElement).toBe(name);
    expect(platform.count('createMultiPartySession')).toBe(0);
  });

  it('checks party ids and the method configuration', async () => {
    withPlatform(new FakePlatform(), <CreateMultiPartySession />);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'x' } });
    fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'risk-analyzer-v2' } });
    fireEvent.change(screen.getByLabelText('Participants'), { target: { value: `${BANK_A}\nbankB` } });
    fireEvent.click(screen.getByLabelText('Secure multi-party computation'));
    fireEvent.change(screen.getByLabelText('Threshold'), { target: { value: '3' } });
    fireEvent.change(screen.getByLabelText('Compute nodes'), { target: { value: '4' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create session' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Participants: "bankB" is not a party id');
    expect(alert.textContent).toContain('Threshold (3) needs at least 5 compute nodes');
    expect(document.activeElement).toBe(screen.getByLabelText('Participants'));
  });

  it('submits from the keyboard (Enter in a field: implicit submission) and calls onCreated with the SDK session', async () => {
    const platform = new FakePlatform();
    const onCreated = vi.fn();
    withPlatform(platform, <CreateMultiPartySession onCreated={onCreated} />);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'New Analysis' } });
    fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'risk-analyzer-v2' } });
    fireEvent.change(screen.getByLabelText('Participants'), { target: { value: `${BANK_A}\n${BANK_B}` } });
    fireEvent.change(screen.getByLabelText('Observers (optional)'), { target: { value: REGULATOR } });
    fireEvent.click(screen.getByLabelText('Secure aggregation'));
    fireEvent.change(screen.getByLabelText('Threshold'), { target: { value: '2' } });
    // Enter in a text field submits a form that has a submit button (HTML "implicit submission"): the
    // browser then calls requestSubmit(). happy-dom has no implicit submission, so the test checks its
    // preconditions and does what the browser does.
    const name = screen.getByLabelText('Name') as HTMLInputElement;
    const form = name.form!;
    expect(form.querySelector('button[type="submit"]')).toBe(screen.getByRole('button', { name: 'Create session' }));
    expect(name.type).toBe('text');
    name.focus();
    act(() => form.requestSubmit());
    await waitFor(() => expect(onCreated).toHaveBeenCalledOnce());
    expect(platform.calls.find((c) => c.method === 'createMultiPartySession')!.args[0]).toEqual({
      name: 'New Analysis',
      modelId: 'risk-analyzer-v2',
      participants: [BANK_A, BANK_B],
      observers: [REGULATOR],
      dataPolicy: {
        aggregationMethod: 'secure_aggregation',
        encryptionRequired: true,
        retentionPolicy: 'delete_after_inference',
        secureAggConfig: { threshold: 2, noiseAddition: true, differentialPrivacy: { epsilon: 1, delta: 0.00001 } },
      },
    });
    expect(screen.getByRole('status').textContent).toBe('Session "New Analysis" was created.');
  });

  it('shows the SDK refusal in an alert', async () => {
    const platform = new FakePlatform();
    platform.failNext('createMultiPartySession', new Error('unknown_model: no such model'));
    withPlatform(platform, <CreateMultiPartySession defaultValues={{ name: 'n', modelId: 'nope', participants: BANK_A }} />);
    fireEvent.click(screen.getByRole('button', { name: 'Create session' }));
    expect((await screen.findByRole('alert')).textContent).toBe('The session was not created: unknown_model: no such model');
  });
});

describe('MultiPartySessionManager({ onSessionCreated, onSessionCompleted, allowCreate, showParticipants })', () => {
  it('lists, selects, consents through the SDK, and reports a completion seen live', async () => {
    const platform = new FakePlatform([makeSession({ dataSubmittedBy: [BANK_A] })]);
    const onSessionCompleted = vi.fn();
    withPlatform(platform, <MultiPartySessionManager onSessionCompleted={onSessionCompleted} allowCreate={false} showParticipants={true} />);
    expect(screen.queryByRole('button', { name: 'New session' })).toBeNull();
    fireEvent.click(await screen.findByRole('button', { name: /AML screening/ }));
    fireEvent.click(await screen.findByRole('button', { name: 'I consent to these terms' }));
    await waitFor(() => expect(platform.count('consent')).toBe(1));
    expect(platform.calls.find((c) => c.method === 'consent')!.args).toEqual(['mps_alpha']);
    await screen.findByText('You have consented.');

    platform.update('mps_alpha', { status: 'completed' });
    act(() => platform.latestStream().push(sessionEvent('mps_alpha', 'completed')));
    await waitFor(() => expect(onSessionCompleted).toHaveBeenCalledOnce());
    const [session, result] = onSessionCompleted.mock.calls[0]!;
    expect(session.id).toBe('mps_alpha');
    expect(result.content).toBe('Two shared counterparties flagged.');
    expect(platform.count('getSessionResult')).toBe(1);
    expect(await screen.findByText('Two shared counterparties flagged.')).toBeTruthy();
  });

  it('runs the inference through the SDK and reports its result once', async () => {
    const platform = new FakePlatform([makeSession({ status: 'ready', dataSubmittedBy: [BANK_A, BANK_B], consentedBy: [BANK_A, BANK_B] })]);
    const onSessionCompleted = vi.fn();
    withPlatform(platform, <MultiPartySessionManager onSessionCompleted={onSessionCompleted} />);
    fireEvent.click(await screen.findByRole('button', { name: /AML screening/ }));
    fireEvent.change(await screen.findByLabelText('Prompt'), { target: { value: 'go' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run inference' }));
    await waitFor(() => expect(onSessionCompleted).toHaveBeenCalledOnce());
    expect(platform.calls.find((c) => c.method === 'runMultiPartyInference')!.args).toEqual([{ sessionId: 'mps_alpha', prompt: 'go' }]);
    act(() => platform.latestStream().push(sessionEvent('mps_alpha', 'completed')));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(onSessionCompleted).toHaveBeenCalledOnce();
    expect(platform.count('getSessionResult')).toBe(0);
  });

  it('creates a session and calls onSessionCreated', async () => {
    const platform = new FakePlatform();
    const onSessionCreated = vi.fn();
    withPlatform(platform, <MultiPartySessionManager onSessionCreated={onSessionCreated} />);
    fireEvent.click(await screen.findByRole('button', { name: 'New session' }));
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Created here' } });
    fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'risk-analyzer-v2' } });
    fireEvent.change(screen.getByLabelText('Participants'), { target: { value: BANK_A } });
    fireEvent.click(screen.getByRole('button', { name: 'Create session' }));
    await waitFor(() => expect(onSessionCreated).toHaveBeenCalledOnce());
    expect(await screen.findByRole('heading', { name: 'Created here' })).toBeTruthy();
  });

  it('shows a list failure in an alert', async () => {
    const platform = new FakePlatform();
    platform.failNext('listMultiPartySessions', new Error('network down'));
    withPlatform(platform, <MultiPartySessionManager />);
    expect((await screen.findByRole('alert')).textContent).toBe('Sessions could not be loaded: network down');
  });
});
