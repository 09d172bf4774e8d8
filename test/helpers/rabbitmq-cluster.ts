/**
 * A real RabbitMQ cluster on this machine, beside the default broker (`rabbit@<host>` on 5672, never
 * touched): nodes of Debian's `rabbitmq-server` named `<run>a@localhost`, `<run>b@localhost`, …, each with
 * its own AMQP port, Erlang distribution port and directory (`/tmp/confmgr-rmqc-<random>/`, owned by the
 * `rabbitmq` user). epmd (4369) and the Erlang cookie are shared with the default broker, as the Debian
 * wrappers run every node as the `rabbitmq` user.
 *
 * Started as root (or through `sudo -n`): the wrappers switch to the `rabbitmq` user themselves. Each
 * node reads a config file and a plugin list of its own (none enabled), so a broker configured in
 * /etc/rabbitmq (listeners, the management plugin's port) cannot make it clash with the default node.
 * The first node boots alone, the others with it as their classic-config peer (they join as they boot).
 *
 * Cleanup happens whatever the outcome: close() stops every node (SIGKILL for one that does not stop)
 * and removes its directory; a process exiting without close() SIGKILLs its nodes on 'exit'; and a run
 * whose owning process died without either (SIGKILL of the test runner) is swept by the next start().
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClusterNode {
  /** The Erlang node name, `<run><letter>@localhost`. */
  readonly nodename: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** guest/guest on 127.0.0.1 (guest may only connect from loopback). */
  readonly url: string;
  readonly dir: string;
}

const DIR_PREFIX = 'confmgr-rmqc-';
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/bin'];

function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d !== ''), ...SBIN];
  for (const d of dirs) if (existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

interface Run {
  stdout: string;
  stderr: string;
}

/** Runs a command as root (directly, or through `sudo -n env …` when this process is not root). */
function privileged(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  const [file, argv] = isRoot ? [cmd, args] : ['sudo', ['-n', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args]];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr || stdout}`), { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/**
 * Why a cluster cannot be formed here (undefined when it can): rabbitmq-server and rabbitmqctl
 * installed (scripts/ensure-rabbitmq.sh installs them), the `rabbitmq` user, root or password-less sudo.
 */
export async function clusterUnsupportedReason(): Promise<string | undefined> {
  if (!which('rabbitmq-server')) return 'rabbitmq-server is not installed';
  if (!which('rabbitmqctl')) return 'rabbitmqctl is not installed';
  if (!readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith('rabbitmq:'))) return 'there is no rabbitmq user';
  if (!isRoot) {
    const ok = await new Promise<boolean>((resolve) => execFile('sudo', ['-n', 'true'], (err) => resolve(!err)));
    if (!ok) return 'neither root nor password-less sudo';
  }
  return undefined;
}

/** A TCP port free on every interface now (the node listens on all of them). */
async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, resolve);
  });
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pid in a node's pid file, only if that process still is that very node (pids are reused): an
 * Erlang VM whose environment names the node (the node name is not on its command line). Without the
 * right to read its environment (not root), an Erlang VM is taken to be it.
 */
function nodePid(node: Pick<ClusterNode, 'dir' | 'nodename'>): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(node.dir, 'pid'), 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('beam')) return undefined;
  } catch {
    return undefined;
  }
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`RABBITMQ_NODENAME=${node.nodename}`) ? pid : undefined;
  } catch {
    return pid;
  }
}

function signal(pid: number, sig: 'SIGKILL' | 'SIGTERM'): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone, or not ours to signal without sudo (the sudo path below) */
  }
  if (!isRoot && alive(pid)) execFile('sudo', ['-n', 'kill', sig === 'SIGKILL' ? '-9' : '-15', String(pid)], () => undefined);
}

function killNow(pid: number): void {
  signal(pid, 'SIGKILL');
}

/** Nodes of runs whose owning process is gone (SIGKILLed before it could clean up): killed, removed. */
function sweepAbandoned(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: number;
    let nodes: Array<Pick<ClusterNode, 'dir' | 'nodename'>>;
    try {
      const meta = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { owner: number; nodes: Array<{ dir: string; nodename: string }> };
      owner = meta.owner;
      nodes = meta.nodes;
    } catch {
      continue; // not (yet) a complete run: leave it to whoever is writing it
    }
    if (alive(owner)) continue;
    for (const n of nodes) {
      const pid = nodePid(n);
      if (pid !== undefined) killNow(pid);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface ClusterOptions {
  /** Nodes (default 3). */
  size?: number;
}

export class RabbitCluster {
  private closed = false;
  private readonly onExit = (): void => {
    for (const n of this.nodes) {
      const pid = nodePid(n);
      if (pid !== undefined) killNow(pid);
    }
    rmSync(this.dir, { recursive: true, force: true });
  };

  private constructor(
    readonly dir: string,
    readonly nodes: readonly ClusterNode[],
  ) {
    process.on('exit', this.onExit);
  }

  /** Starts `size` nodes in one cluster; on any failure, removes what it started. */
  static async start(options: ClusterOptions = {}): Promise<RabbitCluster> {
    const why = await clusterUnsupportedReason();
    if (why) throw new Error(`cannot form a RabbitMQ cluster here: ${why}`);
    sweepAbandoned();
    const size = options.size ?? 3;
    const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
    const run = `cm${dir.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    const nodes: ClusterNode[] = [];
    const taken = new Set<number>();
    const pick = async (): Promise<number> => {
      for (;;) {
        const p = await freeTcpPort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    for (let i = 0; i < size; i++) {
      const name = `${run}${String.fromCharCode(97 + i)}`;
      const amqpPort = await pick();
      nodes.push({ nodename: `${name}@localhost`, amqpPort, distPort: await pick(), url: `amqp://guest:guest@127.0.0.1:${amqpPort}`, dir: join(dir, name) });
    }
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ owner: process.pid, nodes: nodes.map((n) => ({ dir: n.dir, nodename: n.nodename })) }));
    const cluster = new RabbitCluster(dir, nodes);
    try {
      await cluster.boot();
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** `rabbitmqctl -n <node> …args`. */
  async ctl(node: ClusterNode, ...args: string[]): Promise<string> {
    return (await privileged('rabbitmqctl', ['-n', node.nodename, ...args])).stdout;
  }

  /** The node that holds AMQP port `port` (e.g. from a client's log line). */
  byPort(port: number): ClusterNode | undefined {
    return this.nodes.find((n) => n.amqpPort === port);
  }

  /** SIGKILLs the node's Erlang VM (a crash: no goodbye to clients or peers); resolves once its AMQP port is closed. */
  async kill(node: ClusterNode): Promise<void> {
    const pid = nodePid(node);
    if (pid === undefined) throw new Error(`${node.nodename} is not running`);
    killNow(pid);
    await until(() => !alive(pid), 10_000, `${node.nodename} (pid ${pid}) to die`);
    await until(async () => !(await accepts(node.amqpPort)), 10_000, `${node.nodename}'s AMQP port to close`);
  }

  /** Stops the RabbitMQ application on the node (the VM stays up, clients are disconnected). */
  async stopApp(node: ClusterNode): Promise<void> {
    await this.ctl(node, 'stop_app');
  }

  async startApp(node: ClusterNode): Promise<void> {
    await this.ctl(node, 'start_app');
    await this.ctl(node, 'await_startup');
  }

  /** Stops every node still running (SIGTERM, SIGKILL after 10 s), removes the run's directory. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.nodes.map(async (n) => {
        const pid = nodePid(n);
        if (pid === undefined) return;
        // SIGTERM: the Erlang VM stops gracefully (as `rabbitmqctl stop` would, without a CLI VM's start).
        signal(pid, 'SIGTERM');
        await until(() => !alive(pid), 10_000, `${n.nodename} to stop`).catch(() => killNow(pid));
      }),
    );
    process.off('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * The first node boots alone; the others boot with it as their classic-config peer, so they join its
   * cluster while they boot (no stop_app / join_cluster / start_app round of CLI calls, each of which
   * costs an Erlang VM start).
   */
  private async boot(): Promise<void> {
    const [first, ...rest] = this.nodes as [ClusterNode, ...ClusterNode[]];
    for (const n of this.nodes) {
      await privileged('mkdir', ['-p', n.dir]);
      // The node's own config and plugin list: nothing from /etc/rabbitmq applies to it.
      const peer =
        n === first
          ? ''
          : `cluster_formation.peer_discovery_backend = classic_config\ncluster_formation.classic_config.nodes.1 = ${first.nodename}\n`;
      writeFileSync(this.file(n, 'conf'), `listeners.tcp.default = ${n.amqpPort}\n${peer}`);
      writeFileSync(this.file(n, 'plugins'), '[].\n');
    }
    await privileged('chown', ['-R', 'rabbitmq:rabbitmq', this.dir]);
    await privileged('chmod', ['-R', 'u+rwX,go+rX', this.dir]);
    await this.launch(first);
    await this.awaitStartup(first);
    await Promise.all(rest.map((n) => this.launch(n)));
    await Promise.all(rest.map((n) => this.awaitStartup(n)));
    const status = JSON.parse(await this.ctl(first, 'cluster_status', '--formatter', 'json')) as { running_nodes?: string[] };
    const running = new Set(status.running_nodes ?? []);
    const missing = this.nodes.filter((n) => !running.has(n.nodename)).map((n) => n.nodename);
    if (missing.length > 0) throw new Error(`RabbitMQ nodes not in the cluster: ${missing.join(', ')}`);
  }

  private file(node: ClusterNode, ext: string): string {
    return join(this.dir, `${node.nodename.split('@')[0]}.${ext}`);
  }

  private async launch(n: ClusterNode): Promise<void> {
    await privileged('rabbitmq-server', ['-detached'], {
      RABBITMQ_NODENAME: n.nodename,
      RABBITMQ_NODE_PORT: String(n.amqpPort),
      RABBITMQ_DIST_PORT: String(n.distPort),
      RABBITMQ_MNESIA_BASE: join(n.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(n.dir, 'log'),
      RABBITMQ_PID_FILE: join(n.dir, 'pid'),
      RABBITMQ_CONFIG_FILE: this.file(n, 'conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: this.file(n, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: this.file(n, 'plugins'),
    });
  }

  /**
   * Until the node accepts AMQP connections: its listeners start last, after its cluster join. A TCP
   * probe, not `rabbitmqctl await_startup`, which costs an Erlang VM start per call and fails at once
   * while the node has not yet registered with epmd.
   */
  private async awaitStartup(node: ClusterNode, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let launched = false;
    while (!(await accepts(node.amqpPort))) {
      const pid = nodePid(node);
      if (pid !== undefined) launched = true;
      else if (launched) throw new Error(`${node.nodename} stopped while booting (see ${join(node.dir, 'log')})`);
      if (Date.now() > deadline) throw new Error(`${node.nodename} did not accept AMQP connections within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
