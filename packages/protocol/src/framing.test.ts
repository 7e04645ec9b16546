import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameError, encodeFrame } from './framing.js';

describe('framing', () => {
  it('decodes frames split at every byte boundary', () => {
    const frames = [encodeFrame({ id: 1, op: 'hello' }), encodeFrame({ id: 2, text: 'é'.repeat(300) })];
    const bytes = new Uint8Array([...frames[0]!, ...frames[1]!]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new FrameDecoder();
      const messages = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      expect(messages).toEqual([{ id: 1, op: 'hello' }, { id: 2, text: 'é'.repeat(300) }]);
    }
  });

  it('a frame that is not JSON keeps the frames before it (error.decoded) and after it (next push)', () => {
    const bad = new Uint8Array([0, 0, 0, 3, 0x7b, 0x7b, 0x7b]);
    const bytes = new Uint8Array([...encodeFrame({ id: 1 }), ...bad, ...encodeFrame({ id: 2 })]);
    const decoder = new FrameDecoder();
    let error: unknown;
    try {
      decoder.push(bytes);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).decoded).toEqual([{ id: 1 }]);
    expect(decoder.push(new Uint8Array(0))).toEqual([{ id: 2 }]);
  });

  it('refuses a frame length beyond the limit', () => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(/exceeds/);
  });
});
