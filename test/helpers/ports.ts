/** Ports for tests that must name one up front (a config file, a child process). */
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on it when this returns). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
