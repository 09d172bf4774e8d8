import { Component } from 'preact';
import { useState } from 'preact/hooks';
import { clock } from '../format.js';
import { LOG_SIZE } from '../store.js';
import type { LogEntry } from '../types.js';

class LogLine extends Component<{ e: LogEntry }> {
  override shouldComponentUpdate(next: { e: LogEntry }): boolean {
    return next.e !== this.props.e; // entries never change
  }

  override render({ e }: { e: LogEntry }) {
    const ms = String(e.at % 1000).padStart(3, '0');
    return (
      <li data-event={e.event}>
        <time>{`${clock(e.at)}.${ms}`}</time> <span class="ev">{e.event}</span>
        {e.participantId !== undefined ? ` #${e.participantId}` : ''}
        {e.caller ? ` ${e.caller}` : ''}
        {e.moderator ? ' (moderator)' : ''}
        {e.synthesized ? ' (resync)' : ''}
      </li>
    );
  }
}

/** The conference's last events, newest first; paused, it keeps showing what it showed and counts the rest. */
export function EventLog({ entries }: { entries: readonly LogEntry[] }) {
  const [frozen, setFrozen] = useState<readonly LogEntry[] | undefined>(undefined);
  const shown = frozen ?? entries;
  const lastSeen = frozen?.[frozen.length - 1]?.seq ?? 0;
  const newer = frozen ? entries.filter((e) => e.seq > lastSeen).length : 0;
  const lines = [];
  for (let i = shown.length - 1; i >= 0; i--) lines.push(<LogLine key={shown[i]!.seq} e={shown[i]!} />);
  return (
    <section class="log" aria-labelledby="log-title">
      <div class="log-head">
        <h3 id="log-title">Events</h3>
        <button type="button" class="act" aria-pressed={frozen ? 'true' : 'false'} onClick={() => setFrozen(frozen ? undefined : [...entries])}>
          {frozen ? 'Resume' : 'Pause'}
        </button>
        <span class="log-note">{frozen ? `paused · ${newer >= LOG_SIZE ? `${LOG_SIZE}+` : newer} new` : `last ${LOG_SIZE}, newest first`}</span>
      </div>
      <ol class="log-lines" aria-label="conference events">
        {lines}
      </ol>
    </section>
  );
}
