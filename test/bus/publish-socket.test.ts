import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { PublishSocket } from '../../src/bus/publish-socket.js';
import { AMQP_URL } from '../helpers/bus-amqp.js';

describe('PublishSocket', () => {
  it('finds the socket, frame max and channel number on the installed amqplib (the publisher’s first confirm channel is 1)', async () => {
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createConfirmChannel();
      const socket = new PublishSocket(conn, ch);
      expect(socket.channel).toBe(1);
      expect(socket.frameMax).toBe(131_072);
    } finally {
      await conn.close();
    }
  });

  it('refuses, with a typed error, an amqplib that does not expose them', () => {
    expect(() => new PublishSocket({} as ChannelModel, {} as ConfirmChannel)).toThrow(expect.objectContaining({ code: 'AMQP_TRANSPORT_UNSUPPORTED' }));
  });
});
