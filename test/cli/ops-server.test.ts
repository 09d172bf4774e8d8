// The operations endpoints (/healthz, /readyz, /metrics) and the metrics they expose.
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../../src/app/metrics.js';
import { startHttpServer, type HttpServer, type ReadinessReport } from '../../src/app/http-server.js';
import type { NodeState } from '../../src/esl/types.js';
import { CommandTimeoutError } from '../../src/conference/errors.js';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function fakeState() {
  const state = {
    live: true,
    nodes: { fs1: 'up' as NodeState, fs2: 'down' as NodeState },
    broker: true,
    buffered: 7,
  };
  const readiness = (): ReadinessReport => {
    const nodes: ReadinessReport['nodes'] = {};
    for (const [name, s] of Object.entries(state.nodes)) nodes[name] = { state: s, up: s === 'up' };
    return {
      ready: state.broker && Object.values(nodes).every((n) => n.up),
      nodes,
      broker: { connected: state.broker, buffered: state.buffered },
    };
  };
  return { state, readiness };
}

describe('ops server', () => {
  it('/healthz answers 200 while live, 503 while stopping', async () => {
    const { state, readiness } = fakeState();
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics: new ServiceMetrics(), health: { live: () => state.live, readiness } });
    let res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    state.live = false;
    res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(503);
  });

  it('/readyz reports each node and the broker; 200 only when all are up', async () => {
    const { state, readiness } = fakeState();
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics: new ServiceMetrics(), health: { live: () => true, readiness } });
    let res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'not_ready',
      ready: false,
      nodes: { fs1: { state: 'up', up: true }, fs2: { state: 'down', up: false } },
      broker: { connected: true, buffered: 7 },
    });
    state.nodes.fs2 = 'up';
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('ready');
    state.broker = false;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  });

  it('/metrics exposes events by type, buffer depth, command latency and connection states', async () => {
    const { state, readiness } = fakeState();
    const metrics = new ServiceMetrics();
    metrics.setSources({
      bufferDepth: () => state.buffered,
      inFlight: () => 3,
      brokerConnected: () => state.broker,
      nodeStates: () => Object.entries(state.nodes).map(([node, s]) => ({ node, state: s })),
    });
    metrics.eventReceived('fs1', 'add-member');
    metrics.eventReceived('fs1', 'add-member');
    metrics.publisherHook('confirmed', 'add-member', 2);
    metrics.publisherHook('filtered', 'play-file', 1);
    metrics.publisherHook('dropped', 'start-talking', 4, 'overflow');
    const executor = metrics.instrument({
      execute: async (c) => {
        if (c.kind === 'lock') throw new CommandTimeoutError('slow');
        return { command: 'x', node: 'fs1', reply: '+OK' };
      },
    });
    await executor.execute({ kind: 'mute', conference: 'demo', target: 2 });
    await expect(executor.execute({ kind: 'lock', conference: 'demo' })).rejects.toBeInstanceOf(CommandTimeoutError);

    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, health: { live: () => true, readiness } });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toContain('confmgr_events_received_total{node="fs1",event="add-member"} 2');
    expect(text).toContain('confmgr_events_published_total{event="add-member"} 2');
    expect(text).toContain('confmgr_events_filtered_total{event="play-file"} 1');
    expect(text).toContain('confmgr_events_dropped_total{event="start-talking",reason="overflow"} 4');
    expect(text).toContain('confmgr_amqp_buffer_depth 7');
    expect(text).toContain('confmgr_amqp_in_flight 3');
    expect(text).toContain('confmgr_amqp_connected 1');
    expect(text).toContain('confmgr_freeswitch_node_state{node="fs2",state="down"} 1');
    expect(text).toContain('confmgr_freeswitch_node_state{node="fs2",state="up"} 0');
    expect(text).toContain('confmgr_command_duration_seconds_count{command="mute",outcome="ok"} 1');
    expect(text).toContain('confmgr_command_duration_seconds_count{command="lock",outcome="TIMEOUT"} 1');
  });

  it('registers extra routes (the API plugin) and binds port 0 to a free port', async () => {
    const { readiness } = fakeState();
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new ServiceMetrics(),
      health: { live: () => true, readiness },
      register: (app) => {
        app.get('/v2/ping', async () => ({ pong: true }));
      },
    });
    expect(server.address.port).toBeGreaterThan(0);
    expect(await (await fetch(`${server.url}/v2/ping`)).json()).toEqual({ pong: true });
  });
});
