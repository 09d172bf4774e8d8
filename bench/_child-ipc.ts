/** The benches' parent side of a forked child's IPC: typed messages, and waiting for one of a type. */
import type { ChildProcess } from 'node:child_process';

export type Msg = { type: string; [k: string]: unknown };

/** Resolves with the child's next message of `type`; rejects if the child exits first. */
export function once<T extends Msg>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: Msg): void => {
      if (m.type !== type) return;
      child.off('message', onMsg);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`child exited (${code}) before '${type}'`));
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}
