import { describe, expect, it } from 'vitest';
import { isKeptChannelVar, keptChannelVars } from '../../src/conference/channel-vars.js';
import { parseUuidDump } from '../../src/conference/uuid-dump.js';
import { memberFromHeaders } from '../../src/conference/events.js';

/** A channel's variables as a real FreeSWITCH dump has them: Kazoo's CCVs among ~150 others. */
function realisticVars(): Record<string, string> {
  const vars: Record<string, string> = {
    'ecallmgr_Account-ID': 'acc-1',
    'ecallmgr_Owner-ID': 'owner-9',
    ecallmgr_Precedence: '5',
    presence_id: '1001@example.com',
    customer_id: 'cust-7',
    account_id: 'plain-acc',
    direction: 'inbound',
    sip_user_agent: 'Zoiper rv2.10',
    read_codec: 'PCMU',
  };
  for (let i = 0; i < 150; i++) vars[`sip_h_X-Header-${i}`] = `value ${i} `.repeat(4);
  return vars;
}

describe('kept channel variables', () => {
  it('keeps Kazoo CCVs and the few plain variables confmgr reads, nothing else', () => {
    expect(isKeptChannelVar('ecallmgr_Account-ID')).toBe(true);
    expect(isKeptChannelVar('account_id')).toBe(true);
    expect(isKeptChannelVar('customer_id')).toBe(true);
    expect(isKeptChannelVar('presence_id')).toBe(true);
    expect(isKeptChannelVar('ecallmgr')).toBe(false);
    expect(isKeptChannelVar('sip_user_agent')).toBe(false);
    expect(isKeptChannelVar('Account_ID')).toBe(false);
  });

  it('a uuid_dump with ~160 variables keeps six of them', () => {
    const headers: Record<string, string> = { 'Event-Name': 'CHANNEL_DATA', 'Unique-ID': 'u-1', 'Channel-Name': 'sofia/internal/1001@x' };
    for (const [k, v] of Object.entries(realisticVars())) headers[`variable_${k}`] = v;
    const dump = parseUuidDump(JSON.stringify(headers));
    expect(dump.channelVars).toEqual({
      'ecallmgr_Account-ID': 'acc-1',
      'ecallmgr_Owner-ID': 'owner-9',
      ecallmgr_Precedence: '5',
      presence_id: '1001@example.com',
      customer_id: 'cust-7',
      account_id: 'plain-acc',
    });
    expect(dump.presenceId).toBe('1001@example.com');
    expect(dump.channelName).toBe('sofia/internal/1001@x');
  });

  it('a verbose member event keeps the same subset', () => {
    const h: Record<string, string> = { 'Member-ID': '3', 'Unique-ID': 'call-3' };
    for (const [k, v] of Object.entries(realisticVars())) h[`variable_${k}`] = v;
    const m = memberFromHeaders(h)!;
    expect(Object.keys(m.channelVars).sort()).toEqual(['account_id', 'customer_id', 'ecallmgr_Account-ID', 'ecallmgr_Owner-ID', 'ecallmgr_Precedence', 'presence_id']);
    expect(keptChannelVars({ variable_x: '1', y: '2' })).toEqual({});
  });
});
