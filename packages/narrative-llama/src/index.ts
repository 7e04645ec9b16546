/**
 * @tenzro/narrative-llama — load one GGUF language model on the CPU with node-llama-cpp (pinned 3.21.1) and
 * write plain completions from it, one at a time. The enclave's `local-gguf` narrative backend
 * (packages/enclave/src/narrative/local-gguf.ts) imports this package dynamically, only when
 * `TENZRO_LLM_GGUF` is configured, so `npm ci --omit=optional` leaves node-llama-cpp (≈730 MB) out.
 *
 * node-llama-cpp is imported by a non-literal specifier: this package builds (and the enclave type-checks)
 * without it installed. The few calls used are typed below, structurally, after node-llama-cpp 3.21.1's
 * `dist/*.d.ts`; the local-gguf tests exercise them against the real library and model.
 *
 * The enclave's stdout is its framed channel: llama.cpp's log lines go to stderr (warnings and errors only),
 * never to stdout.
 */

/** What `loadGguf` needs: the model file, and how the context is set up. */
export interface LoadGgufOptions {
  /** Path of the .gguf file. */
  modelPath: string;
  /** CPU threads for evaluation (default 1; more than the free math cores makes generation far slower). */
  threads?: number | undefined;
  /** Context size in tokens (default: the model's training context). */
  contextSize?: number | undefined;
}

export interface CompletionOptions {
  /** Generate at most this many tokens. */
  maxTokens: number;
  /** 0 (the default) is greedy decoding: the same prompt gives the same text. */
  temperature?: number | undefined;
  /** Sampling seed, used when temperature > 0. */
  seed?: number | undefined;
  /** Aborts a generation that runs, or waits for its turn, too long. */
  signal?: AbortSignal | undefined;
}

export interface Completion {
  text: string;
  /** Tokens generated (never more than maxTokens). */
  tokens: number;
  stopReason: 'eogToken' | 'maxTokens' | 'stopGenerationTrigger' | 'customStopTrigger' | 'abort';
}

/** A loaded model with one context sequence; generations are serialised. */
export interface GgufGenerator {
  /** The context window in tokens: prompt tokens + maxTokens must fit in it. */
  readonly contextSize: number;
  /**
   * Tokens of `text` by the model's own tokenizer, as generated text (no BOS, no SentencePiece leading
   * space). A prompt takes at most one more (the BOS).
   */
  countTokens(text: string): number;
  /** Completes `prompt`. Waits for the generation before it. */
  complete(prompt: string, options: CompletionOptions): Promise<Completion>;
  /** Frees the context, the model and the native backend. */
  close(): Promise<void>;
}

export type LlamaLoadErrorCode = 'llama_not_installed' | 'model_load_failed';

/** node-llama-cpp is not installed, or the model file could not be loaded. */
export class LlamaLoadError extends Error {
  readonly code: LlamaLoadErrorCode;
  constructor(code: LlamaLoadErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LlamaLoadError';
    this.code = code;
  }
}

// --- the node-llama-cpp 3.21.1 surface used (structural) ---

type Token = number;
type LogLevel = 'disabled' | 'fatal' | 'error' | 'warn' | 'info' | 'log' | 'debug';

interface LlamaSequence {
  clearHistory(): Promise<void>;
}
interface LlamaContextLike {
  readonly contextSize: number;
  getSequence(): LlamaSequence;
  dispose(): Promise<void>;
}
interface LlamaModelLike {
  readonly trainContextSize: number;
  tokenize(text: string, specialTokens: false, options: 'trimLeadingSpace'): Token[];
  createContext(options: { threads: number; contextSize?: number; sequences: number }): Promise<LlamaContextLike>;
  dispose(): Promise<void>;
}
interface LlamaLike {
  loadModel(options: { modelPath: string; gpuLayers: number; useMmap?: boolean }): Promise<LlamaModelLike>;
  dispose(): Promise<void>;
}
interface LlamaCompletionLike {
  generateCompletionWithMeta(
    input: string,
    options: {
      maxTokens: number;
      temperature: number;
      seed?: number;
      signal?: AbortSignal;
      onToken: (tokens: Token[]) => void;
    },
  ): Promise<{ response: string; metadata: { stopReason: Completion['stopReason'] } }>;
  dispose(): void;
}
interface NodeLlamaCpp {
  getLlama(options: {
    gpu: false;
    build: 'never';
    logLevel: LogLevel;
    logger: (level: LogLevel, message: string) => void;
    progressLogs: false;
  }): Promise<LlamaLike>;
  LlamaCompletion: new (options: { contextSequence: LlamaSequence }) => LlamaCompletionLike;
}

const NODE_LLAMA_CPP = 'node-llama-cpp';

async function importNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  try {
    return (await import(NODE_LLAMA_CPP)) as NodeLlamaCpp;
  } catch (error) {
    throw new LlamaLoadError(
      'llama_not_installed',
      'node-llama-cpp is not installed (it is an optional dependency of @tenzro/narrative-llama: run npm install without --omit=optional)',
      { cause: error },
    );
  }
}

/**
 * llama.cpp's own log lines go to stderr (stdout is the enclave's channel), and only as their level: the
 * host reads stderr, and a message may quote prompt or token text (the shared findings, which the operator
 * is not a recipient of).
 */
function stderrLogger(level: LogLevel, message: string): void {
  if (message.trim() !== '') process.stderr.write(`llama.cpp logged a ${level} message (text withheld)\n`);
}

function checkPositiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
}

/**
 * Loads the model at `options.modelPath` on the CPU (prebuilt binary only, never a build from source) and
 * returns a generator over one context sequence.
 */
export async function loadGguf(options: LoadGgufOptions): Promise<GgufGenerator> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { modelPath } = options;
  if (typeof modelPath !== 'string' || modelPath.length === 0) throw new TypeError('modelPath must be a non-empty string');
  const threads = options.threads ?? 1;
  checkPositiveInteger('threads', threads);
  if (options.contextSize !== undefined) checkPositiveInteger('contextSize', options.contextSize);

  const lib = await importNodeLlamaCpp();
  let llama: LlamaLike;
  try {
    llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: 'warn', logger: stderrLogger, progressLogs: false });
  } catch (error) {
    throw new LlamaLoadError('llama_not_installed', `node-llama-cpp has no usable prebuilt CPU binary here (${(error as Error).message})`, { cause: error });
  }
  let model: LlamaModelLike | undefined;
  let context: LlamaContextLike;
  try {
    // read into memory, not mapped: the enclave re-measures the file after loading (main.ts), and weights
    // mapped from a file the host can rewrite would not stay the bytes that were measured
    model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: false });
    const contextSize = options.contextSize ?? model.trainContextSize;
    context = await model.createContext({ threads, contextSize, sequences: 1 });
  } catch (error) {
    await model?.dispose().catch(() => undefined);
    await llama.dispose().catch(() => undefined);
    throw new LlamaLoadError('model_load_failed', `the GGUF model could not be loaded (${(error as Error).message})`, { cause: error });
  }
  const loadedModel = model;
  const sequence = context.getSequence();
  let tail: Promise<unknown> = Promise.resolve();
  let closed = false;

  async function completeNow(prompt: string, opts: CompletionOptions): Promise<Completion> {
    opts.signal?.throwIfAborted();
    if (closed) throw new Error('the generator is closed');
    await sequence.clearHistory();
    const completion = new lib.LlamaCompletion({ contextSequence: sequence });
    let tokens = 0;
    try {
      const { response, metadata } = await completion.generateCompletionWithMeta(prompt, {
        maxTokens: opts.maxTokens,
        temperature: opts.temperature ?? 0,
        ...(opts.seed === undefined ? {} : { seed: opts.seed }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        onToken: (generated) => {
          tokens += generated.length;
        },
      });
      return { text: response, tokens, stopReason: metadata.stopReason };
    } finally {
      completion.dispose();
    }
  }

  return {
    contextSize: context.contextSize,
    countTokens(text) {
      if (typeof text !== 'string') throw new TypeError('text must be a string');
      return loadedModel.tokenize(text, false, 'trimLeadingSpace').length;
    },
    complete(prompt, opts) {
      if (typeof prompt !== 'string') return Promise.reject(new TypeError('prompt must be a string'));
      if (typeof opts !== 'object' || opts === null) return Promise.reject(new TypeError('options must be an object'));
      try {
        checkPositiveInteger('maxTokens', opts.maxTokens);
        if (opts.temperature !== undefined && (typeof opts.temperature !== 'number' || !(opts.temperature >= 0))) {
          throw new RangeError('temperature must be a number >= 0');
        }
        if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed)) throw new RangeError('seed must be an integer');
      } catch (error) {
        return Promise.reject(error);
      }
      const run = tail.then(() => completeNow(prompt, opts));
      tail = run.catch(() => undefined);
      return run;
    },
    async close() {
      if (closed) return;
      closed = true;
      await tail;
      await context.dispose();
      await loadedModel.dispose();
      await llama.dispose();
    },
  };
}
