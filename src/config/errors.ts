import { ConfmgrError } from '../util/index.js';
import { CONFIG_LIMITS } from './limits.js';

/** `text` cut to CONFIG_LIMITS.quotedLength characters (with `…`), for keys and values quoted in messages. */
export function shorten(text: string, max: number = CONFIG_LIMITS.quotedLength): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** One problem in the operator's config: where (dotted path) and what is wrong. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `freeswitch.nodes[0].port`; '' for the whole document. */
  key: string;
  message: string;
}

/**
 * The config file (or an override) is invalid. Nothing has been started. CLI exit code 2.
 * `issues` has every problem; the message lists the first CONFIG_LIMITS.reportedIssues and counts the rest.
 */
export class ConfigError extends ConfmgrError {
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    const shown = issues.slice(0, CONFIG_LIMITS.reportedIssues);
    const lines = shown.map((i) => `  - ${i.key === '' ? '(document)' : i.key}: ${i.message}`);
    if (issues.length > shown.length) lines.push(`  - … and ${issues.length - shown.length} more problems`);
    super('CONFIG_INVALID', `Invalid configuration in ${source}:\n${lines.join('\n')}`, { source, issues });
    this.issues = issues;
  }
}
