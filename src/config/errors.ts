import { ConfmgrError } from '../util/errors.js';

/** One problem in the operator's config: where (dotted path) and what is wrong. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `freeswitch.nodes[0].port`; '' for the whole document. */
  key: string;
  message: string;
}

/** The config file (or an override) is invalid. Nothing has been started. CLI exit code 2. */
export class ConfigError extends ConfmgrError {
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    const lines = issues.map((i) => `  - ${i.key === '' ? '(document)' : i.key}: ${i.message}`);
    super('CONFIG_INVALID', `Invalid configuration in ${source}:\n${lines.join('\n')}`, { source, issues });
    this.issues = issues;
  }
}
