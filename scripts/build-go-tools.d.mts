// Types of build-go-tools.mjs for the TypeScript tests, which find the tools where it builds them.
export declare const GO_TOOLS: Record<string, { module: string; version: string; package: string; ldflags?: string; tags?: string }>;
export declare function goToolPath(name: string, env?: NodeJS.ProcessEnv): string;
