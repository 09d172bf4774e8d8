/** The command line's options (node:util parseArgs) and the values they give, shared by every command. */
import type { ParseArgsConfig } from 'node:util';

export const CLI_OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  password: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  account: { type: 'string' },
  json: { type: 'boolean' },
  'amqp-url': { type: 'string' },
  exchange: { type: 'string' },
  conference: { type: 'string' },
  console: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

export type CliValues = {
  [K in keyof typeof CLI_OPTIONS]?: (typeof CLI_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};
