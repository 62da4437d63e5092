/**
 * The platform built from the shipped config (`config/`), synthesized ONCE per jest run and shared
 * by every test file that asks, instead of each file building and synthesizing its own (about 5 s
 * of CPU a file: loading the constructs, building the tree, synthesizing with the three cdk-nag
 * packs).
 *
 *   const { shared, models } = shippedPlatform();
 *   const template = models[0].template;            // what Template.fromStack(models[0]) gave
 *   models[0].logicalId('Monitoring/Rollback/Function/Resource');
 *
 * The synth is the one the tests made themselves: `newApp()` (cdk.json's feature flags, no
 * bundling), `buildPlatform(app, shippedConfig())`, `app.synth()` with its validations, so an
 * unacknowledged cdk-nag finding still fails every file that uses it. A test that needs another
 * config (a `ConfigFixture`) or the construct objects still builds its own.
 *
 * Sharing: test/setup/global-setup.ts makes an empty folder for the run; the first file that asks
 * synthesizes into it while holding a lock, the others (in the other jest worker) wait for the
 * result. Nothing outlives the run, so no stale template is ever read. Without the global setup
 * (another jest config), each file synthesizes for itself.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { SYNTH_ENV } from './shipped-platform-env';

export interface SynthesizedStack {
  /** The construct id, which `cdk deploy` accepts (`Shared`, `Model-<model>`). */
  readonly id: string;
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  /** The synthesized template, as `Template.fromStack` gives it. */
  readonly template: Template;
  /**
   * The logical id of the CloudFormation element at `constructPath` under the stack, as
   * `stack.getLogicalId(construct.node.defaultChild)` gives it, e.g.
   * `logicalId('Monitoring/Rollback/Function/Resource')`. Throws, listing near paths, when there is none.
   */
  logicalId(constructPath: string): string;
}

export interface ShippedPlatform {
  readonly shared: SynthesizedStack;
  readonly models: readonly SynthesizedStack[];
}

/** What is written to the run's folder: plain JSON. */
interface StackJson {
  readonly id: string;
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly template: Record<string, unknown>;
  /** Construct path under the stack → logical id, for every CloudFormation element of the stack. */
  readonly logicalIds: Record<string, string>;
}

interface PlatformJson {
  readonly shared: StackJson;
  readonly models: readonly StackJson[];
}

/** Builds and synthesizes in this process. Loaded lazily: a file served from the run's copy never loads lib/. */
function synthesize(): PlatformJson {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { CfnElement, Stack } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { buildPlatform } = require('../../lib/platform') as typeof import('../../lib/platform');
  const { newApp, shippedConfig } = require('./config-fixture') as typeof import('./config-fixture');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const app = newApp();
  const { shared, models } = buildPlatform(app, shippedConfig());
  // Validations (cdk-nag) run here, as in Template.fromStack: a finding throws.
  const assembly = app.synth();
  const toJson = (stack: InstanceType<typeof Stack>): StackJson => {
    const logicalIds: Record<string, string> = {};
    const prefix = `${stack.node.path}/`;
    for (const c of stack.node.findAll()) {
      if (CfnElement.isCfnElement(c) && Stack.of(c) === stack && c.node.path.startsWith(prefix))
        logicalIds[c.node.path.slice(prefix.length)] = stack.getLogicalId(c);
    }
    return {
      id: stack.node.id,
      stackName: stack.stackName,
      account: stack.account,
      region: stack.region,
      template: assembly.getStackArtifact(stack.artifactId).template,
      logicalIds,
    };
  };
  return { shared: toJson(shared), models: models.map(toJson) };
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** True when the lock's holder (its pid is the lock file's content) is gone. */
function holderIsGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(lock, 'utf8'));
  } catch {
    return false; // released meanwhile
  }
  if (!Number.isInteger(pid) || pid <= 0) return false; // being written
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Waits for a synth at most this long: two synths on a loaded 2-core machine, with margin. */
const WAIT_MS = 240_000;

function sharedOnce(dir: string): PlatformJson {
  const file = path.join(dir, 'shipped-platform.json');
  const lock = path.join(dir, 'shipped-platform.lock');
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as PlatformJson;
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, String(process.pid));
        const built = synthesize();
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(built));
        renameSync(tmp, file);
        return built;
      } finally {
        // A synth that threw leaves no result: the next file tries again and fails with the same error.
        closeSync(fd);
        rmSync(lock, { force: true });
      }
    }
    if (holderIsGone(lock)) rmSync(lock, { force: true });
    else if (Date.now() > deadline)
      throw new Error(
        `shippedPlatform: no synth in ${WAIT_MS / 1000} s from the jest worker holding ${lock}`,
      );
    else sleepSync(100);
  }
}

function toStack(json: StackJson): SynthesizedStack {
  let template: Template | undefined;
  return {
    id: json.id,
    stackName: json.stackName,
    account: json.account,
    region: json.region,
    get template() {
      return (template ??= Template.fromJSON(json.template));
    },
    logicalId(constructPath: string): string {
      const id = json.logicalIds[constructPath];
      if (id !== undefined) return id;
      const head = constructPath.split('/')[0]!;
      const near = Object.keys(json.logicalIds).filter((p) => p.startsWith(head));
      throw new Error(
        `${json.id} has no CloudFormation element at ${constructPath}` +
          (near.length ? `; under ${head}: ${near.slice(0, 20).join(', ')}` : ''),
      );
    },
  };
}

let memo: ShippedPlatform | undefined;

/** The shipped config's platform, synthesized once per jest run (see the file header). */
export function shippedPlatform(): ShippedPlatform {
  if (memo) return memo;
  const dir = process.env[SYNTH_ENV];
  const json = dir ? sharedOnce(dir) : synthesize();
  memo = { shared: toStack(json.shared), models: json.models.map(toStack) };
  return memo;
}
