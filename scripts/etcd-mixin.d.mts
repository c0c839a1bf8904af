// Types of etcd-mixin.mjs for the TypeScript tests, which read the alerts where it renders them.
export declare function etcdMixinPin(): { module: string; version: string };
export declare function etcdMixinAlertsPath(env?: NodeJS.ProcessEnv): string;
export declare function renderEtcdMixinAlerts(): string;
