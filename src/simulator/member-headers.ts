/**
 * The header blocks mod_conference adds to its events, in FreeSWITCH's order:
 * conference_event_add_data, switch_channel_event_set_data and conference_member_add_event_data.
 */
import { HeaderBlock, type Header, type HeaderEntry } from './event.js';
import type { Conference, Member } from './model.js';

export function conferenceHeaders(conf: Conference): Header[] {
  return [
    ['Conference-Name', conf.name],
    ['Conference-Domain', conf.profile.domain],
    ['Conference-Size', String(conf.members.length)],
    ['Conference-Ghosts', '0'],
    ['Conference-Profile-Name', conf.profile.name],
    ['Conference-Unique-ID', conf.uuid],
  ];
}

const bool = (b: boolean): string => (b ? 'true' : 'false');

/** The channel block only changes at hangup, so each member keeps a serialized copy. */
const channelBlocks = new WeakMap<Member, { cause: string | undefined; verbose: boolean; block: HeaderBlock }>();

export function channelBlock(member: Member, verbose: boolean): HeaderBlock {
  const cached = channelBlocks.get(member);
  if (cached && cached.cause === member.channel.hangupCause && cached.verbose === verbose) return cached.block;
  const block = new HeaderBlock(channelHeaders(member, verbose));
  channelBlocks.set(member, { cause: member.channel.hangupCause, verbose, block });
  return block;
}

export function channelHeaders(member: Member, verbose: boolean): Header[] {
  const ch = member.channel;
  const hungUp = ch.hangupCause !== undefined;
  const created = String(ch.createdUs);
  const h: Header[] = [
    ['Channel-State', 'CS_EXECUTE'],
    ['Channel-Call-State', 'ACTIVE'],
    ['Channel-State-Number', hungUp ? '10' : '4'],
    ['Channel-Name', ch.name],
    ['Unique-ID', ch.uuid],
    ['Call-Direction', 'inbound'],
    ['Presence-Call-Direction', 'inbound'],
    ['Channel-HIT-Dialplan', 'true'],
    ['Channel-Call-UUID', ch.uuid],
    ['Answer-State', hungUp ? 'hangup' : 'answered'],
  ];
  if (hungUp) h.push(['Hangup-Cause', ch.hangupCause!]);
  h.push(
    ['Channel-Read-Codec-Name', 'L16'],
    ['Channel-Read-Codec-Rate', '8000'],
    ['Channel-Read-Codec-Bit-Rate', '128000'],
    ['Channel-Write-Codec-Name', 'L16'],
    ['Channel-Write-Codec-Rate', '8000'],
    ['Channel-Write-Codec-Bit-Rate', '128000'],
    ['Caller-Direction', 'inbound'],
    ['Caller-Logical-Direction', 'inbound'],
    ['Caller-Dialplan', 'xml'],
  );
  // A caller-id name that was never set is left out, as FreeSWITCH leaves out NULL headers.
  if (ch.callerIdName !== undefined) h.push(['Caller-Caller-ID-Name', ch.callerIdName]);
  h.push(['Caller-Caller-ID-Number', ch.callerIdNumber]);
  if (ch.callerIdName !== undefined) h.push(['Caller-Orig-Caller-ID-Name', ch.callerIdName]);
  h.push(
    ['Caller-Orig-Caller-ID-Number', ch.callerIdNumber],
    ['Caller-Callee-ID-Name', 'Outbound Call'],
    ['Caller-Callee-ID-Number', ch.context],
    ['Caller-ANI', ch.callerIdNumber],
    ['Caller-Destination-Number', ch.destination],
    ['Caller-Unique-ID', ch.uuid],
    ['Caller-Source', 'mod_loopback'],
    ['Caller-Context', ch.context],
    ['Caller-Channel-Name', ch.name],
    ['Caller-Profile-Index', '1'],
    ['Caller-Profile-Created-Time', created],
    ['Caller-Channel-Created-Time', created],
    ['Caller-Channel-Answered-Time', created],
    ['Caller-Channel-Progress-Time', '0'],
    ['Caller-Channel-Progress-Media-Time', '0'],
    ['Caller-Channel-Hangup-Time', '0'],
    ['Caller-Channel-Transfer-Time', '0'],
    ['Caller-Channel-Resurrect-Time', '0'],
    ['Caller-Channel-Bridged-Time', '0'],
    ['Caller-Channel-Last-Hold', '0'],
    ['Caller-Channel-Hold-Accum', '0'],
    ['Caller-Screen-Bit', 'true'],
    ['Caller-Privacy-Hide-Name', 'false'],
    ['Caller-Privacy-Hide-Number', 'false'],
  );
  if (verbose) {
    for (const [k, v] of Object.entries(ch.vars)) h.push([`variable_${k}`, v]);
  }
  return h;
}

/** conference_member_add_event_data: conference block, Floor, the channel, then the member's flags. */
export function memberHeaders(member: Member, verbose: boolean): HeaderEntry[] {
  const conf = member.conference;
  const h: HeaderEntry[] = conferenceHeaders(conf);
  h.push(['Floor', bool(conf.floor === member)]);
  h.push(channelBlock(member, verbose));
  h.push(
    ['Video', bool(member.video)],
    ['Hear', bool(member.canHear)],
    ['See', bool(member.canSee)],
    ['Speak', bool(member.canSpeak)],
    ['Talking', bool(member.talking)],
    ['Mute-Detect', bool(member.muteDetect)],
    ['Hold', bool(member.hold)],
    ['Member-ID', String(member.id)],
    ['Member-Type', member.moderator ? 'moderator' : 'member'],
    ['Member-Ghost', 'false'],
    ['Energy-Level', String(member.energy)],
    ['Current-Energy', String(member.currentEnergy)],
  );
  return h;
}
