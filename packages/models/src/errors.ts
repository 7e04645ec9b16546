// The one error class of a model run. Messages name the partition, record index and field, never a value.
export type ModelRunErrorCode = 'invalid_input' | 'unsupported_method' | 'calibration_failed';

export class ModelRunError extends Error {
  readonly code: ModelRunErrorCode;
  constructor(code: ModelRunErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelRunError';
    this.code = code;
  }
}
