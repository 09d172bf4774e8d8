/** Where a CLI command writes and what it reads from its environment (tests pass their own). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Where relative config paths are looked up (default process.cwd()). */
  cwd?: string;
}

export const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  env: process.env,
};
