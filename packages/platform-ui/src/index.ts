// @tenzro/platform-ui — React 19 hooks and components over the SDK (`@tenzro/platform`). Browser-safe: no
// `node:` imports. Styles are optional: `import '@tenzro/platform-ui/styles.css'`.
export { TenzroProvider, useTenzroPlatform, MissingProviderError } from './platform-context.js';
export type { MultiPartyAiClient, PlatformClient, TenzroProviderProps } from './platform-context.js';
export { DEFAULT_LIVE_RETRY, LiveUpdatesError, backoffDelay, followEvents } from './live.js';
export type { FollowHandlers, LiveRetryPolicy } from './live.js';
export { useMultiPartySessions } from './use-multi-party-sessions.js';
export type { UseMultiPartySessionsResult } from './use-multi-party-sessions.js';
export { useMultiPartySession } from './use-multi-party-session.js';
export type { UseMultiPartySessionResult } from './use-multi-party-session.js';
export { useCreateMultiPartySession } from './use-create-multi-party-session.js';
export type { UseCreateMultiPartySessionResult } from './use-create-multi-party-session.js';
export { MultiPartySessionList } from './MultiPartySessionList.js';
export type { MultiPartySessionListProps } from './MultiPartySessionList.js';
export { ConsentStatement, DEFAULT_DATA_SCHEMA, MultiPartySessionDetail } from './MultiPartySessionDetail.js';
export type { MultiPartySessionDetailProps, RunInferenceInput, SubmitDataInput } from './MultiPartySessionDetail.js';
export { CreateMultiPartySession } from './CreateMultiPartySession.js';
export type { CreateMultiPartySessionProps } from './CreateMultiPartySession.js';
export { MultiPartySessionManager } from './MultiPartySessionManager.js';
export type { MultiPartySessionManagerProps } from './MultiPartySessionManager.js';
export { INITIAL_CREATE_FORM, validateCreateForm } from './create-form.js';
export type { CreateFormErrors, CreateFormField, CreateFormResult, CreateFormValues } from './create-form.js';
export { isOpen, methodLabel, statusLabel } from './session-labels.js';
