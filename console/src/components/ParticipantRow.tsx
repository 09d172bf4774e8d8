import { Component } from 'preact';
import { caller, clock } from '../format.js';
import type { Participant, ParticipantAction } from '../types.js';
import type { ActionStatus } from './actions.js';

export interface ParticipantRowProps {
  p: Participant;
  status: ActionStatus | undefined;
  onAction: (p: Participant, action: ParticipantAction) => void;
}

/**
 * One member. Every part keeps its size whatever the member's state (badges hide, they do not leave
 * the layout), so a talking indicator switching on or off moves nothing. Re-rendered only when the
 * member or the status of its own command changed.
 */
export class ParticipantRow extends Component<ParticipantRowProps> {
  override shouldComponentUpdate(next: ParticipantRowProps): boolean {
    return next.p !== this.props.p || next.status !== this.props.status;
  }

  override render({ p, status, onAction }: ParticipantRowProps) {
    const who = caller(p.name, p.number, p.id);
    const busy = status?.state === 'pending';
    const button = (action: ParticipantAction, label: string, extra = '') => (
      <button
        type="button"
        class={`act ${extra}${busy && status?.action === action ? ' pending' : ''}`}
        aria-disabled={busy ? 'true' : undefined}
        aria-label={`${label} ${who}`}
        data-action={action}
        onClick={() => {
          if (!busy) onAction(p, action);
        }}
      >
        {label}
      </button>
    );
    return (
      <li class="member" data-member={p.id} data-talking={String(p.talking)} data-muted={String(!p.speak)} data-deaf={String(!p.hear)}>
        <span class="talk-dot" aria-hidden="true" />
        <span class="who">
          <span class="name">{p.name || p.number || `member ${p.id}`}</span>
          <span class="sub">
            {p.name && p.number ? `${p.number} · ` : ''}#{p.id}
            {p.moderator ? <span class="badge mod">moderator</span> : null}
          </span>
        </span>
        <span class="badges">
          <span class={`badge muted${p.speak ? ' off' : ''}`}>muted</span>
          <span class={`badge deaf${p.hear ? ' off' : ''}`}>deaf</span>
          <span class={`badge talking${p.talking ? '' : ' off'}`}>talking</span>
        </span>
        <span class="joined">{p.joinedAt === undefined ? 'joined —' : `joined ${clock(p.joinedAt)}`}</span>
        <span class="actions">
          {p.speak ? button('mute', 'Mute') : button('unmute', 'Unmute')}
          {p.hear ? button('deaf', 'Deaf') : button('undeaf', 'Undeaf')}
          {button('kick', 'Kick', 'danger')}
        </span>
        <span class={`result ${status?.state ?? ''}`} title={status?.text}>
          {status?.text ?? ''}
        </span>
      </li>
    );
  }
}
