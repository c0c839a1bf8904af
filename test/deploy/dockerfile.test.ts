// No container engine runs where these tests run, so the image is not built here: this checks the
// Dockerfile's structure instead (stages, pinned bases, production-only install, the entrypoint
// against package.json's bin) and that .dockerignore lets in exactly what the build copies.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import t from 'tap';
import { FLAGS } from '../../src/commands/config.js';
import { parseDockerfile, type Stage } from '../helpers/dockerfile.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: { node: string };
};

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const { stages } = dockerfile;
const final = stages.at(-1)!;
const stageNames = new Set(stages.map((s) => s.name).filter((n) => n !== undefined));
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const runs = (s: Stage) => ops(s, 'RUN').map((i) => i.args).join(' && ');
const execForm = (args: string): string[] | undefined => {
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
};

t.test('multi-stage: a build stage and a runtime stage, each named', async (t) => {
  t.ok(stages.length >= 2, `${stages.length} stages`);
  for (const s of stages) t.ok(s.name, `FROM ${s.image} is named`);
  t.same(dockerfile.globals.filter((i) => i.op !== 'ARG'), [], 'nothing but ARG before the first FROM');
});

t.test('base images are pinned to an exact Node.js release that package.json accepts', async (t) => {
  const minMajor = Number(/>=\s*(\d+)/.exec(PACKAGE.engines.node)?.[1]);
  const bases = stages.filter((s) => !stageNames.has(s.image));
  t.ok(bases.length > 0);
  for (const s of bases) {
    const m = /^(?:docker\.io\/(?:library\/)?)?node:(\d+)\.(\d+)\.(\d+)-([a-z0-9-]+?)(?:@sha256:[0-9a-f]{64})?$/.exec(s.image);
    t.ok(m, `${s.image}: node:MAJOR.MINOR.PATCH-VARIANT, optionally @sha256:DIGEST (no floating tag, no ARG)`);
    if (!m) continue;
    t.equal(Number(m[1]), minMajor, `${s.image}: Node.js ${minMajor}, the engines floor the code is compiled for`);
    t.notMatch(m[4], /^(?:alpine|latest)$/, `${s.image}: a glibc variant (bookworm-slim); alpine's musl is not what the tests run on`);
  }
  t.equal(new Set(bases.map((s) => s.image.replace(/@.*/, ''))).size, 1, 'every stage builds on the same base');
});

t.test('the tests run on the Node.js release the image ships, an LTS line', async (t) => {
  const image = /node:(\d+)\.(\d+\.\d+)-/.exec(final.image);
  t.ok(image, final.image);
  if (!image) return;
  t.equal(process.version, `v${image[1]}.${image[2]}`, 'npm test runs tap under scripts/lts-node.mjs, which puts the image\'s release first on PATH');
  // Even majors become LTS; odd ones never do (nodejs.org's release schedule).
  t.equal(Number(image[1]) % 2, 0, `Node.js ${image[1]} is an LTS line`);
  t.ok(Number(image[1]) >= 22, `Node.js ${image[1]} is still supported (20 ended on 2026-04-30)`);
});

t.test('the build stage installs with dev dependencies from the lockfile and compiles', async (t) => {
  const build = stages.find((s) => /npm run build/.test(runs(s)));
  t.ok(build, 'a stage runs npm run build');
  t.not(build, final, 'not the runtime stage');
  if (!build) return;
  t.match(runs(build), /\bnpm ci\b/, 'npm ci (the lockfile, not npm install)');
  t.notMatch(runs(build), /--omit=dev|--production/, 'with dev dependencies (TypeScript)');
  const copied = ops(build, 'COPY').map((i) => i.args);
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
  for (const pattern of tsconfig.include) {
    const top = pattern.split('/')[0]!;
    t.ok(copied.some((c) => c.split(/\s+/).slice(0, -1).includes(top)), `tsconfig include ${pattern}: ${top} is copied into the build stage`);
  }
  t.ok(copied.some((c) => /\btsconfig\.json\b/.test(c)), 'tsconfig.json is copied');
});

t.test('the runtime stage installs production dependencies only and takes the compiled code from the build', async (t) => {
  const r = runs(final);
  t.match(r, /\bnpm ci\b[^&;]*--omit=dev/, 'npm ci --omit=dev');
  t.notMatch(r, /\bnpm (?:install|i)\b/, 'no npm install (it would ignore the lockfile)');
  t.notMatch(r, /npm run build|\btsc\b/, 'no compiling in the runtime stage');
  const fromBuild = ops(final, 'COPY').filter((i) => /--from=/.test(i.args));
  t.ok(fromBuild.some((i) => /\/dist\s+\S*dist\/?$/.test(i.args)), 'dist/ is copied from the build stage');
  for (const i of fromBuild) t.ok(stageNames.has(/--from=(\S+)/.exec(i.args)![1]!), `${i.args}: from a stage of this Dockerfile`);
  t.ok(ops(final, 'COPY').some((i) => !/--from=/.test(i.args) && /\bpackage\.json\b/.test(i.args)), 'package.json is in the image (read at run time for the version)');
  t.same(ops(final, 'ADD'), [], 'no ADD (no remote or archive sources)');
});

t.test("ENTRYPOINT runs package.json's bin in exec form; no shell form anywhere", async (t) => {
  const entrypoints = ops(final, 'ENTRYPOINT');
  t.equal(entrypoints.length, 1, 'one ENTRYPOINT');
  const ep = execForm(entrypoints[0]?.args ?? '');
  const bin = Object.values(PACKAGE.bin)[0]!.replace(/^\.\//, '');
  t.same(ep, ['node', bin], `ENTRYPOINT ["node", "${bin}"]`);
  const workdir = ops(final, 'WORKDIR').at(-1)?.args;
  t.ok(workdir?.startsWith('/'), `an absolute WORKDIR (${workdir}) that the relative entrypoint and ../package.json resolve against`);
  for (const s of stages) {
    for (const i of [...ops(s, 'CMD'), ...ops(s, 'ENTRYPOINT')]) t.ok(execForm(i.args), `${i.op} ${i.args}: exec form (a shell form needs /bin/sh and swallows SIGTERM)`);
  }
  t.same(ops(final, 'CMD'), [], 'no CMD: flags come from the pod spec');
});

t.test('OCI labels describe the image and match package.json', async (t) => {
  const labels = new Map<string, string>();
  for (const i of ops(final, 'LABEL')) {
    for (const m of i.args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) labels.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
  }
  for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses']) {
    t.ok(labels.get(`org.opencontainers.image.${key}`), `org.opencontainers.image.${key}`);
  }
  t.equal(labels.get('org.opencontainers.image.licenses'), PACKAGE.license, 'licenses is package.json license');
  const version = labels.get('org.opencontainers.image.version') ?? '';
  const arg = /^\$\{?(\w+)\}?$/.exec(version)?.[1];
  const argDefault = arg ? ops(final, 'ARG').map((i) => /^(\w+)=(.*)$/.exec(i.args)).find((m) => m?.[1] === arg)?.[2] : version;
  t.equal(argDefault, PACKAGE.version, 'the version label (or its ARG default) is package.json version');
});

t.test('the image exposes the default listen port and leaves the user choice to the pod', async (t) => {
  const port = Number(FLAGS.find((f) => f.flag === 'listen-address')!.default!.split(':').pop());
  t.ok(ops(final, 'EXPOSE').some((i) => i.args.split(/\s+/).includes(String(port)) || i.args.split(/\s+/).includes(`${port}/tcp`)), `EXPOSE ${port}`);
  const user = ops(final, 'USER').at(-1)?.args;
  t.ok(user === undefined || /^0(?::0)?$|^root$|^\d+(?::\d+)?$/.test(user), `USER is numeric or root (${user ?? 'unset: root'}), so runAsNonRoot can verify it`);
});

// ---- .dockerignore ------------------------------------------------------------------------------

/** Docker's rule: the last pattern that matches a path or one of its parent directories decides. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === '*' && pattern[i + 1] === '*') {
          i++;
          if (pattern[i + 1] === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path: string) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    return excluded;
  };
}

const excluded = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = `${dir}/${e.name}`;
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

t.test('the .dockerignore matcher follows Docker rules', async (t) => {
  const m = dockerignore('*\n!src/\n**/*.map\n!keep.map\n');
  t.ok(m('node_modules/x/index.js'));
  t.notOk(m('src/a/b.ts'));
  t.ok(m('src/a/b.js.map'));
  t.notOk(m('keep.map'));
});

t.test('.dockerignore keeps node_modules, .git, test and build output out of the context', async (t) => {
  for (const p of ['node_modules/express/package.json', '.git/HEAD', 'test/unit/config.test.ts', 'dist/cli.js', '.tap/x', 'bench/README.md', 'deploy/base/daemonset.yaml', 'coverage/x', 'npm-debug.log']) {
    t.ok(excluded(p), `${p} is excluded`);
  }
});

t.test('.dockerignore lets in every file the Dockerfile copies from the context', async (t) => {
  for (const s of stages) {
    for (const i of ops(s, 'COPY').filter((x) => !/--from=/.test(x.args))) {
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        const abs = join(ROOT, src);
        const files = statSync(abs).isDirectory() ? filesUnder(relative(ROOT, abs)) : [src];
        t.ok(files.length > 0, `COPY ${src}: exists`);
        const dropped = files.filter((f) => excluded(f));
        t.same(dropped, [], `COPY ${src}: nothing of it is excluded from the context`);
      }
    }
  }
});
