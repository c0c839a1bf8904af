// Types of build-etcd.mjs for the TypeScript test harness, which finds the builds where it puts them.
export declare function etcdBuildCache(env?: NodeJS.ProcessEnv): string;
export declare function etcdBinaryPath(version: string, env?: NodeJS.ProcessEnv): string;
