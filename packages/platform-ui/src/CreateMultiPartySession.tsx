/**
 * `CreateMultiPartySession({ onCreated })`: a form for name, model, participants, observers and the data
 * policy (method with its configuration). Validation messages sit under each field (`aria-invalid`,
 * `aria-describedby`), a summary is announced in an alert, and focus moves to the first field in error.
 */
import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { MultiPartySession } from '@tenzro/platform';
import {
  CREATE_FORM_FIELD_ORDER,
  INITIAL_CREATE_FORM,
  validateCreateForm,
  type CreateFormErrors,
  type CreateFormField,
  type CreateFormValues,
} from './create-form.js';
import { joinClassNames, methodLabel, type AggregationMethod } from './session-labels.js';
import { useCreateMultiPartySession } from './use-create-multi-party-session.js';

export interface CreateMultiPartySessionProps {
  onCreated?: (session: MultiPartySession) => void;
  /** Starting values (e.g. a default model id). */
  defaultValues?: Partial<CreateFormValues>;
  /** Model ids to suggest in the model field. */
  models?: readonly string[];
  className?: string;
}

const METHODS: readonly AggregationMethod[] = ['federated', 'secure_aggregation', 'mpc'];

export function CreateMultiPartySession({ onCreated, defaultValues, models, className }: CreateMultiPartySessionProps): ReactNode {
  const ids = useId();
  const { createSession, loading, error } = useCreateMultiPartySession();
  const [values, setValues] = useState<CreateFormValues>(() => ({ ...INITIAL_CREATE_FORM, ...defaultValues }));
  const [errors, setErrors] = useState<CreateFormErrors>({});
  const [created, setCreated] = useState<string | null>(null);
  const fields = useRef(new Map<CreateFormField, HTMLElement>());

  const set = <K extends CreateFormField>(field: K, value: CreateFormValues[K]): void => {
    setValues((v) => ({ ...v, [field]: value }));
    setErrors((e) => {
      if (e[field] === undefined) return e;
      const { [field]: _removed, ...rest } = e;
      return rest;
    });
  };
  const fieldId = (field: CreateFormField): string => `${ids}-${field}`;
  const register = (field: CreateFormField) => (element: HTMLElement | null) => {
    if (element) fields.current.set(field, element);
    else fields.current.delete(field);
  };
  const describe = (field: CreateFormField, hint?: string) => {
    const describedBy = [errors[field] ? `${fieldId(field)}-error` : undefined, hint ? `${fieldId(field)}-hint` : undefined].filter(Boolean).join(' ');
    return {
      id: fieldId(field),
      ref: register(field),
      'aria-invalid': errors[field] ? true : undefined,
      'aria-describedby': describedBy || undefined,
    } as const;
  };
  const fieldError = (field: CreateFormField): ReactNode =>
    errors[field] ? (
      <p id={`${fieldId(field)}-error`} className="tenzro-field-error">
        {errors[field]}
      </p>
    ) : null;

  const onSubmit = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setCreated(null);
    const result = validateCreateForm(values);
    if (!result.ok) {
      setErrors(result.errors);
      const first = CREATE_FORM_FIELD_ORDER.find((field) => result.errors[field] !== undefined);
      if (first) fields.current.get(first)?.focus();
      return;
    }
    setErrors({});
    let session: MultiPartySession;
    try {
      session = await createSession(result.input);
    } catch {
      return; // shown from the hook's `error`
    }
    setCreated(session.name);
    onCreated?.(session);
  };

  const errorList = Object.values(errors);
  const method = values.method;
  const text = (field: CreateFormField, label: string, options: { hint?: string; inputMode?: 'numeric' | 'decimal'; list?: string } = {}) => (
    <div className="tenzro-field">
      <label htmlFor={fieldId(field)}>{label}</label>
      <input
        type="text"
        {...describe(field, options.hint)}
        inputMode={options.inputMode}
        list={options.list}
        value={values[field] as string}
        onChange={(event) => set(field, event.currentTarget.value as never)}
      />
      {options.hint ? (
        <p id={`${fieldId(field)}-hint`} className="tenzro-hint">
          {options.hint}
        </p>
      ) : null}
      {fieldError(field)}
    </div>
  );
  const area = (field: 'participants' | 'observers' | 'description', label: string, hint?: string) => (
    <div className="tenzro-field">
      <label htmlFor={fieldId(field)}>{label}</label>
      <textarea {...describe(field, hint)} rows={3} value={values[field]} onChange={(event) => set(field, event.currentTarget.value)} />
      {hint ? (
        <p id={`${fieldId(field)}-hint`} className="tenzro-hint">
          {hint}
        </p>
      ) : null}
      {fieldError(field)}
    </div>
  );
  const privacyLabel = method === 'federated' ? 'Differential privacy' : 'Add noise (differential privacy)';

  return (
    <form className={joinClassNames('tenzro-form', 'tenzro-create-session', className)} onSubmit={(event) => void onSubmit(event)} noValidate aria-label="Create a multi-party session">
      {text('name', 'Name')}
      {area('description', 'Description (optional)')}
      {text('modelId', 'Model', models && models.length > 0 ? { list: `${ids}-models` } : {})}
      {models && models.length > 0 ? (
        <datalist id={`${ids}-models`}>
          {models.map((model) => (
            <option key={model} value={model} />
          ))}
        </datalist>
      ) : null}
      {area('participants', 'Participants', 'One party id per line, e.g. party::bankA::treasury. They contribute data.')}
      {area('observers', 'Observers (optional)', 'One party id per line. They receive the result and contribute nothing.')}
      {text('minParticipants', 'Minimum participants (optional)', { inputMode: 'numeric', hint: 'Empty: every participant must contribute.' })}
      <div className="tenzro-field">
        <label htmlFor={fieldId('retentionPolicy')}>Retention</label>
        <select
          {...describe('retentionPolicy')}
          value={values.retentionPolicy}
          onChange={(event) => set('retentionPolicy', event.currentTarget.value as CreateFormValues['retentionPolicy'])}
        >
          <option value="delete_after_inference">Delete data after inference</option>
          <option value="retain_until_expiry">Retain data until the session expires</option>
        </select>
      </div>
      <fieldset className="tenzro-fieldset">
        <legend>Aggregation method</legend>
        {METHODS.map((m) => (
          <div key={m} className="tenzro-radio">
            <input
              type="radio"
              id={`${fieldId('method')}-${m}`}
              name={`${ids}-method`}
              value={m}
              checked={method === m}
              ref={m === method ? register('method') : undefined}
              onChange={() => set('method', m)}
            />
            <label htmlFor={`${fieldId('method')}-${m}`}>{methodLabel(m)}</label>
          </div>
        ))}
      </fieldset>
      <fieldset className="tenzro-fieldset">
        <legend>{methodLabel(method)} settings</legend>
        {method === 'federated' ? (
          <>
            {text('localEpochs', 'Local epochs', { inputMode: 'numeric', hint: '1 to 100' })}
            {text('aggregationRounds', 'Aggregation rounds', { inputMode: 'numeric', hint: '1 to 1000' })}
          </>
        ) : null}
        {method === 'secure_aggregation'
          ? text('secAggThreshold', 'Threshold', { inputMode: 'numeric', hint: 'Parties needed to unmask: more than half the participants, at least 2.' })
          : null}
        {method === 'mpc' ? (
          <>
            {text('mpcThreshold', 'Threshold', { inputMode: 'numeric', hint: 'Compute nodes needed to reconstruct (Shamir secret sharing), at least 2.' })}
            {text('mpcTotalParties', 'Compute nodes', { inputMode: 'numeric', hint: 'At least 2 × threshold − 1.' })}
          </>
        ) : null}
        {method !== 'mpc' ? (
          <>
            <div className="tenzro-field tenzro-checkbox">
              <input
                type="checkbox"
                {...describe('privacyEnabled')}
                checked={values.privacyEnabled}
                onChange={(event) => set('privacyEnabled', event.currentTarget.checked)}
              />
              <label htmlFor={fieldId('privacyEnabled')}>{privacyLabel}</label>
            </div>
            {values.privacyEnabled ? (
              <>
                {text('epsilon', 'Epsilon (ε)', { inputMode: 'decimal', hint: 'Privacy budget: above 0, at most 100.' })}
                {text('delta', 'Delta (δ)', { inputMode: 'decimal', hint: 'Between 0 and 1, e.g. 0.00001.' })}
              </>
            ) : null}
          </>
        ) : null}
      </fieldset>
      {errorList.length > 0 ? (
        <div role="alert" className="tenzro-error">
          <p>The session was not created: fix {errorList.length === 1 ? 'this field' : `these ${errorList.length} fields`}.</p>
          <ul>
            {CREATE_FORM_FIELD_ORDER.filter((field) => errors[field] !== undefined).map((field) => (
              <li key={field}>{errors[field]}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {error !== null && errorList.length === 0 ? (
        <p role="alert" className="tenzro-error">
          The session was not created: {error.message}
        </p>
      ) : null}
      <div role="status" aria-live="polite" className="tenzro-live">
        {created !== null ? `Session "${created}" was created.` : ''}
      </div>
      <button type="submit" className="tenzro-button tenzro-button--primary" disabled={loading}>
        {loading ? 'Creating…' : 'Create session'}
      </button>
    </form>
  );
}
