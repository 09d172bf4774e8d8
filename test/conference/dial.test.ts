/**
 * The conference dial's pure parts: the dial-string grammar (what reaches `originate`), the originate
 * command it builds, and how a BACKGROUND_JOB body becomes an endpoint's outcome.
 */
import { describe, expect, it } from 'vitest';
import { parseDialString } from '../../src/conference/dial-string.js';
import { dialOutcome, originateCommand, prepareDial } from '../../src/conference/dial.js';
import { InvalidArgumentError } from '../../src/conference/errors.js';
import { profileNames } from '../../src/conference/profiles.js';

let n = 0;
const ids = (): string => `call-${String(++n).padStart(8, '0')}`;

describe('dial strings', () => {
  it.each([
    'sofia/internal/1000@example.com',
    'sofia/internal/+15551234567@sip.example.com:5080;transport=tcp',
    'sofia/gateway/carrier1/15551234567',
    'user/1000@example.com',
    'user/1000',
    'loopback/9664/default',
    '{ignore_early_media=true,sip_h_X-Tag=abc}sofia/internal/1000@example.com',
    '[leg_timeout=10]user/1000@example.com',
    '{absolute_codec_string=PCMU}[sip_invite_params=user%3Dphone]sofia/external/1000@example.com',
  ])('accepts %s', (s) => {
    expect(parseDialString(s).target).toMatch(/^(sofia|user|loopback)\//);
  });

  it.each([
    ['a newline', 'user/1000@example.com\nbgapi fsctl shutdown'],
    ['a carriage return', 'user/1000\r'],
    ['a NUL', 'user/10\u000000'],
    ['a DEL', 'user/1000\u007f'],
    ['& (the application)', 'user/1000@example.com &park()'],
    ['& without a space', 'user/1000@example.com&park'],
    [', (simultaneous legs)', 'user/1000,user/1001'],
    ['| (failover legs)', 'user/1000|user/1001'],
    ['a space', 'user/1000 XML default'],
    ['a quote', "user/1000'"],
    ['a second {} block', '{a=1}{b=2}user/1000'],
    ['a brace in a value', '{a=x}y}user/1000'],
    ['a comma escaping a value', "{a='x,y'}user/1000"],
    ['a pipe in a value', '{a=x|y}user/1000'],
    ['an ampersand in a value', '{a=x&y}user/1000'],
    ['a space in a value', '{a=x y}user/1000'],
    ['a reserved variable', '{origination_uuid=abc}user/1000'],
    ['a reserved leg variable', '[origination_caller_id_name=x]user/1000'],
    ['an unknown technology', 'error/USER_BUSY'],
    ['a bare number', '15551234567'],
    ['an unterminated block', '{a=1user/1000'],
    ['an empty block', '{}user/1000'],
    ['a bad variable name', '{1a=1}user/1000'],
    ['sofia without a host', 'sofia/internal/1000'],
    ['an empty string', ''],
  ])('refuses %s', (_what, s) => {
    expect(() => parseDialString(s)).toThrow(InvalidArgumentError);
  });

  it('refuses non-strings and over-long endpoints', () => {
    expect(() => parseDialString(42)).toThrow(InvalidArgumentError);
    expect(() => parseDialString(`user/${'1'.repeat(2000)}`)).toThrow(/longer than/);
  });
});

describe('prepareDial and the originate command', () => {
  it('builds one originate per endpoint: preset uuid, timeout, caller id, vars merged, the conference with its flags', () => {
    const d = prepareDial(
      {
        conference: 'room_1',
        endpoints: [{ dialString: '{ignore_early_media=true}[leg_delay_start=1]sofia/internal/1000@example.com', callId: 'fixed-call-id-1' }, { dialString: 'user/1001' }],
        callerIdName: 'Big Room',
        callerIdNumber: '+15550000',
        timeoutS: 15,
        flags: ['mute', 'deaf', 'mute'],
        profile: 'kazoo',
      },
      ids,
    );
    expect(d.flags).toEqual(['mute', 'deaf']);
    expect(originateCommand(d, d.legs[0]!, 'kazoo')).toBe(
      "originate {origination_uuid=fixed-call-id-1,originate_timeout=15,origination_caller_id_name='Big Room',origination_caller_id_number=+15550000,ignore_early_media=true}[leg_delay_start=1]sofia/internal/1000@example.com &conference(room_1@kazoo+flags{mute|deaf})",
    );
    expect(d.legs[1]!.callId).toMatch(/^call-\d{8}$/);
    expect(d.legs[1]!.endpointId).toBe('user/1001');
    expect(originateCommand({ ...d, flags: [], callerIdName: undefined, callerIdNumber: undefined }, d.legs[1]!, 'default')).toBe(
      `originate {origination_uuid=${d.legs[1]!.callId},originate_timeout=15}user/1001 &conference(room_1@default)`,
    );
  });

  it.each([
    ['a newline in the caller id name', { callerIdName: 'Evil\nbgapi fsctl shutdown' }, 'caller_id_name'],
    ['a quote in the caller id name', { callerIdName: "O'Brien" }, 'caller_id_name'],
    ['a comma in the caller id name', { callerIdName: 'a,b' }, 'caller_id_name'],
    ['a space in the caller id number', { callerIdNumber: '555 1' }, 'caller_id_number'],
    ['an unknown flag', { flags: ['mute', 'admin'] }, 'participant_flags'],
    ['a flag smuggling a separator', { flags: ['mute}|moderator'] }, 'participant_flags'],
    ['a timeout of 0', { timeoutS: 0 }, 'timeout'],
    ['a fractional timeout', { timeoutS: 1.5 }, 'timeout'],
    ['a profile with +', { profile: 'default+flags{moderator}' }, 'profile_name'],
    ['no endpoints', { endpoints: [] }, 'endpoints'],
    ['one bad endpoint among good ones', { endpoints: [{ dialString: 'user/1000' }, { dialString: 'user/1001&echo' }] }, 'endpoints.1'],
    ['two endpoints with one call id', { endpoints: [{ dialString: 'user/1000', callId: 'same-call-id' }, { dialString: 'user/1001', callId: 'same-call-id' }] }, 'endpoints.1.outbound_call_id'],
    ['a call id with a space', { endpoints: [{ dialString: 'user/1000', callId: 'abc defgh' }] }, 'endpoints.0.outbound_call_id'],
    ['a conference name with @', { conference: 'a@b' }, 'conference'],
  ])('refuses %s before anything is built', (_what, patch, field) => {
    const request = { conference: 'room', endpoints: [{ dialString: 'user/1000' }], ...patch };
    try {
      prepareDial(request as Parameters<typeof prepareDial>[0], ids);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).details?.field).toBe(field);
    }
  });
});

describe('an endpoint outcome from its BACKGROUND_JOB body', () => {
  const leg = { endpointId: 'user/1000', callId: 'c1', dial: parseDialString('user/1000') };
  it.each([
    ['+OK c1\n', 'joined', undefined, 'dialing endpoints'],
    ['-ERR USER_BUSY\n', 'busy', 'USER_BUSY', 'USER_BUSY'],
    ['-ERR NO_ANSWER\n', 'no_answer', 'NO_ANSWER', 'NO_ANSWER'],
    ['-ERR NO_USER_RESPONSE\n', 'no_answer', 'NO_USER_RESPONSE', 'NO_USER_RESPONSE'],
    ['-ERR CALL_REJECTED\n', 'failed', 'CALL_REJECTED', 'CALL_REJECTED'],
    ['-ERR NO_ROUTE_DESTINATION\n', 'failed', 'NO_ROUTE_DESTINATION', 'NO_ROUTE_DESTINATION'],
    ['-USAGE: <call url> …\n', 'failed', undefined, '<call url> …'],
  ])('%j → %s', (body, result, cause, message) => {
    const o = dialOutcome(leg, body);
    expect(o.result).toBe(result);
    expect(o.hangupCause).toBe(cause);
    expect(o.callId).toBe('c1');
    expect(o.message).toContain(message.replace(/^: /, ''));
  });
});

describe('conference.conf profiles (xml_locate)', () => {
  it('reads the profile names of the profiles section only', () => {
    const xml =
      '<configuration name="conference.conf" description="Audio Conference">\n  <caller-controls>\n    <group name="default"/>\n  </caller-controls>\n' +
      '  <profiles>\n    <profile name="default">\n      <param name="rate" value="8000"/>\n    </profile>\n    <profile name="wideband"/>\n  </profiles>\n</configuration>\n';
    expect([...profileNames(xml)!]).toEqual(['default', 'wideband']);
    expect(profileNames("can't find anything\n")).toBeUndefined();
  });
});
