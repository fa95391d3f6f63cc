/**
 * ONNX Runtime sessions for every model Cairn runs. Node's binding loads and runs models
 * synchronously on the calling thread, so each call passes the thread's native-call gate: a
 * training thread is never terminated in the middle of one.
 */
import * as ort from 'onnxruntime-node';
import { nativeTask } from '../concurrency/native-calls';

export interface OnnxSession {
  run(feeds: ort.InferenceSession.FeedsType): Promise<ort.InferenceSession.ReturnType>;
  release(): Promise<void>;
}

export async function openOnnxSession(
  model: Uint8Array,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<OnnxSession> {
  const session = await nativeTask(() => ort.InferenceSession.create(model, options));
  return {
    run: (feeds) => nativeTask(() => session.run(feeds)),
    release: () => nativeTask(() => session.release()),
  };
}
