/**
 * Where `conference <name> record <path>` (and `norecord <path>`) may point. FreeSWITCH opens the file
 * with its own user's rights, so a command's path is accepted only as an absolute file path under one
 * of the operator's recording directories, judged on its text alone (the files live on the FreeSWITCH
 * host, not here): no `..` segment, no control character, no percent-encoding (`%2e%2e`), no backslash,
 * no `${…}` variable for FreeSWITCH to expand into something else. Pure.
 */
import { posix } from 'node:path';
import { RecordingPathRefusedError } from './errors.js';

/** FreeSWITCH's own recordings directory in its Debian packages (`recordings_dir`). */
export const DEFAULT_RECORDING_DIRS: readonly string[] = ['/var/lib/freeswitch/recordings'];

export type RecordingPathProblem =
  | 'not_a_string'
  | 'control_character'
  | 'percent_encoded'
  | 'backslash'
  | 'variable'
  | 'not_absolute'
  | 'traversal'
  | 'outside_recording_dirs';

const DESCRIPTIONS: Readonly<Record<RecordingPathProblem, string>> = {
  not_a_string: 'must be a non-empty string',
  control_character: 'must not contain control characters',
  percent_encoded: 'must not contain percent-encoded characters',
  backslash: 'must not contain a backslash',
  variable: 'must not contain ${…} variables',
  not_absolute: 'must be an absolute path',
  traversal: 'must not contain "." or ".." segments',
  outside_recording_dirs: 'must be a file under a recording directory',
};

/** Problems shared by a command's path and a configured directory: the text alone. */
function textProblem(path: string): RecordingPathProblem | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return 'control_character';
  if (/%[0-9A-Fa-f]{2}/.test(path)) return 'percent_encoded';
  if (path.includes('\\')) return 'backslash';
  if (path.includes('${')) return 'variable';
  if (!path.startsWith('/')) return 'not_absolute';
  if (path.split('/').some((s) => s === '..' || s === '.')) return 'traversal';
  return undefined;
}

/** `/var/rec/` → `/var/rec` (no trailing slash, single slashes). */
function normalizeDir(dir: string): string {
  const n = posix.normalize(dir);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Why `path` may not be recorded to, given the allowed directories; undefined when it may. */
export function recordingPathProblem(path: unknown, dirs: readonly string[]): RecordingPathProblem | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'not_a_string';
  const problem = textProblem(path);
  if (problem !== undefined) return problem;
  const file = posix.normalize(path);
  if (file.endsWith('/')) return 'outside_recording_dirs'; // a directory, not a file
  const inside = dirs.some((d) => {
    const dir = normalizeDir(d);
    return file.startsWith(dir === '/' ? '/' : `${dir}/`) && file.length > dir.length + 1;
  });
  return inside ? undefined : 'outside_recording_dirs';
}

/** Throws RecordingPathRefusedError unless `path` is a file under one of `dirs`. */
export function assertRecordingPath(path: unknown, dirs: readonly string[], field = 'path'): asserts path is string {
  const problem = recordingPathProblem(path, dirs);
  if (problem === undefined) return;
  const where = problem === 'outside_recording_dirs' ? ` (${dirs.length === 0 ? 'none is configured' : dirs.join(', ')})` : '';
  throw new RecordingPathRefusedError(`${field}: ${DESCRIPTIONS[problem]}${where}`, { field, problem });
}

/** Why `dir` cannot be a recording directory (for the config's `recordings.dirs`); undefined when it can. */
export function recordingDirProblem(dir: string): string | undefined {
  const problem = textProblem(dir);
  if (problem !== undefined) return DESCRIPTIONS[problem];
  if (normalizeDir(dir) === '/') return 'must not be / (every file on the FreeSWITCH host)';
  return undefined;
}
