/**
 * The operator file's text → the plain object the schema validates. Every step of YAML parsing (syntax,
 * anchors and aliases, conversion to JavaScript values) runs inside this function's error handling, so
 * whatever is wrong with the YAML is a ConfigError with one line per problem (CLI exit 2), never an
 * exception from the parser with its stack.
 */
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from './errors.js';
import { CONFIG_LIMITS } from './limits.js';
import { TOO_LARGE } from './read-file.js';

/**
 * How many nodes alias expansion may produce in one document (the `yaml` package's `maxAliasCount`).
 * A config file uses an anchor for a setting shared by a few sections; a "billion laughs" file (nine
 * nested anchors of nine aliases each) would expand to hundreds of millions of nodes.
 */
export const MAX_ALIAS_COUNT = 100;

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/:$/, '');
}

/** A parser exception → the one-line issue reported for the whole document. */
function describeParserFailure(err: unknown): ConfigIssue {
  const message = err instanceof Error ? err.message : String(err);
  if (/excessive alias count/i.test(message)) {
    return {
      key: '',
      message: `YAML: too many alias references (more than ${MAX_ALIAS_COUNT} expanded nodes); anchors and aliases are for a few shared settings`,
    };
  }
  if (err instanceof RangeError) return { key: '', message: 'YAML: the document is nested too deeply' };
  return { key: '', message: `YAML: ${firstLine(message)}` };
}

/** Parses `text` as one YAML mapping; an empty document is `{}`. Throws ConfigError for anything else. */
export function parseYamlMapping(text: string, source: string): Record<string, unknown> {
  // Text handed over directly (not read by readConfigText) gets the same bound.
  if (text.length > CONFIG_LIMITS.fileBytes || Buffer.byteLength(text, 'utf8') > CONFIG_LIMITS.fileBytes) {
    throw new ConfigError(source, [{ key: '', message: TOO_LARGE }]);
  }
  let raw: unknown;
  try {
    // logLevel 'error': the parser's warnings (e.g. a collection used as a key) are not printed to stderr.
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        source,
        doc.errors.map((e) => ({ key: '', message: `YAML syntax: ${firstLine(e.message)}` })),
      );
    }
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(source, [describeParserFailure(err)]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, [{ key: '', message: 'expected a YAML mapping (key: value) at the top level' }]);
  }
  return raw as Record<string, unknown>;
}
