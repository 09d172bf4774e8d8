import type { Logger } from '../util/index.js';

/**
 * In-process fan-out of outbound events to local consumers (HTTP API, WebSocket, demo). A listener that
 * throws is logged and does not stop the others or the publisher.
 */
export class EventHub<T> {
  private readonly listeners = new Set<(event: T) => void>();

  constructor(private readonly logger?: Logger) {}

  subscribe(listener: (event: T) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(event: T): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.logger?.error({ err }, 'event listener failed');
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
