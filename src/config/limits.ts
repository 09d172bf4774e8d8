/**
 * Upper bounds on everything the operator file (and CONFMGR_* overrides) may hold. Each is far above
 * what a real deployment writes, and finite, so a mistaken or hostile file is refused with a message
 * before it can cost memory or time (README, Configuration, lists them).
 */
export const CONFIG_LIMITS = {
  /** The config file, refused before it is parsed (the example file is a few KB). */
  fileBytes: 1_048_576,
  /** freeswitch.nodes: each opens 1 + command_connections (up to 64) connections. */
  nodes: 256,
  /** http.tokens. */
  tokens: 1_000,
  /** publish_participant_event entries (the known event names number a few dozen). */
  publishParticipantEvent: 256,
  /** recordings.dirs. */
  recordingDirs: 64,
  /** app_name (copied into every event). */
  appNameLength: 128,
  /** amqp.exchange, amqp.command_queue: AMQP's short-string limit. */
  amqpNameLength: 255,
  /** A password or API token. */
  secretLength: 1_024,
  /** amqp.url, storage.url. */
  urlLength: 2_048,
  /** storage.path, each of recordings.dirs (Linux's PATH_MAX). */
  pathLength: 4_096,
  /** The name of an environment variable (`*_env`); a longer value is a pasted secret, not a name. */
  envNameLength: 128,
  /** One event name in publish_participant_event. */
  eventNameLength: 64,
  /** http.listen (host:port). */
  listenLength: 262,
  /** A host name (DNS's limit). */
  hostLength: 253,
  /** Problems listed in one config error; the rest are counted. */
  reportedIssues: 50,
  /** Characters of a key or value quoted in a config error. */
  quotedLength: 80,
} as const;
