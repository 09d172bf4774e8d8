/** Polling for tests that wait on something asynchronous (a socket, a service, an event). */

/**
 * Calls `probe` every `stepMs` until it gives a value (anything but undefined or false) and returns
 * that value; throws naming `what` once `timeoutMs` has passed. Generous default: CPU is shared.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  stepMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
