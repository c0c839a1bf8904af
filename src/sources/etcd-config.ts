import type { Milliseconds } from '../units.js';

/** Where a value of etcd's configuration was found. */
export type ConfigOrigin = 'flag' | 'manifest' | 'cmdline' | 'env' | 'default';

export interface Setting<T> {
  readonly value: T;
  readonly origin: ConfigOrigin;
}

/**
 * etcd's running configuration. A field is undefined when no etcd was found at all; when etcd was
 * found but a flag is not set, the field carries etcd's default with origin `default`.
 */
export interface EtcdConfigSample {
  readonly name?: Setting<string>;
  readonly heartbeatInterval?: Setting<Milliseconds>;
  readonly electionTimeout?: Setting<Milliseconds>;
  readonly dataDir?: Setting<string>;
  readonly walDir?: Setting<string>;
  /** Where etcd was found: the manifest path or `/proc/<pid>/cmdline`. */
  readonly foundIn?: string;
}
