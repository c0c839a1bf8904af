// A value of etcd's configuration and where the agent found it: the evidence says which.

/** Where a value of etcd's configuration was found. */
export type ConfigOrigin = 'flag' | 'manifest' | 'cmdline' | 'env' | 'default';

export interface Setting<T> {
  readonly value: T;
  readonly origin: ConfigOrigin;
}
