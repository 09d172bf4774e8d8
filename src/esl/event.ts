/** An event as the ESL layer hands it to the layers above (decoded from a text/event-* frame). */
export interface EslEvent {
  /** Event-Name, e.g. CUSTOM, BACKGROUND_JOB, HEARTBEAT. */
  readonly name: string;
  /** Event-Subclass for CUSTOM events (e.g. conference::maintenance), else undefined. */
  readonly subclass: string | undefined;
  /** Every event header, decoded (plain: URL-decoded; json: as given; xml: entity-decoded). */
  readonly headers: Readonly<Record<string, string>>;
  /** The event's own body (BACKGROUND_JOB result, etc.); '' when there is none. */
  readonly body: string;
}
