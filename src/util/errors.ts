/**
 * Base of every typed error in confmgr. `code` is stable and is what boundaries (AMQP replies,
 * HTTP responses, CLI exit codes) map on — never the message text.
 */
export class ConfmgrError extends Error {
  readonly code: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    if (details !== undefined) this.details = details;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}
