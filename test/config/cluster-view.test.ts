/** cluster_view: on by default with ha.enabled, off without; explicit settings win; bounds. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';

const base = 'freeswitch:\n  nodes: [{name: fs1, host: 127.0.0.1, password: ClueCon}]\n';
const load = (extra = '') => parseConfig(base + extra, 'x.yaml', { env: {} });

describe('config cluster_view', () => {
  it('follows ha.enabled unless set', () => {
    expect(load().clusterView).toEqual({ enabled: false, gatherMs: 500, forwardTimeoutMs: 15_000 });
    expect(load('ha: {enabled: true}\n').clusterView.enabled).toBe(true);
    expect(load('ha: {enabled: true}\ncluster_view: {enabled: false}\n').clusterView.enabled).toBe(false);
    expect(load('cluster_view: {enabled: true, gather_ms: 1500, forward_timeout_ms: 5000}\n').clusterView).toEqual({ enabled: true, gatherMs: 1500, forwardTimeoutMs: 5000 });
  });

  it('refuses values out of bounds and unknown keys', () => {
    expect(() => load('cluster_view: {gather_ms: 10}\n')).toThrow(/cluster_view\.gather_ms/);
    expect(() => load('cluster_view: {forward_timeout_ms: 500000}\n')).toThrow(/cluster_view\.forward_timeout_ms/);
    expect(() => load('cluster_view: {gather: 5}\n')).toThrow(/cluster_view/);
  });
});
