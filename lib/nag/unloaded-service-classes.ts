/**
 * cdk-nag's rules test every resource with `node instanceof CfnXxx` against the L1 classes of ~50
 * aws-cdk-lib services (QuickSight, EC2, RDS, EKS...). Reading such a class from aws-cdk-lib's
 * lazy service index loads that service's whole generated module, so every synth loaded 36
 * services this platform never uses (QuickSight's alone is 5.3 MB): ~0.57 s of CPU on node 24, a
 * tenth of `cdk synth` of the shipped config (bench/README.md, "startup").
 *
 * The answer of such an `instanceof` is known without loading anything: an object is an instance
 * of a class only if the class exists, and an L1 class exists only once the module defining it
 * (`<service>/lib/<name>.generated.js`, named by the service's `lib/index.js`) has been loaded. So
 * for a module cdk-nag requires, `CfnXxx` is handed out as a stand-in that answers `instanceof`
 * with `false` while that module is not in the require cache, and behaves as the real class for
 * everything else (it loads it). Once the module is loaded (a stack really uses the service), the
 * real class is returned and cdk-nag checks as before; nothing else is changed. An export whose
 * defining module cannot be read from `lib/index.js` is handed out as is.
 */
import Module from 'node:module';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** `aws-cdk-lib/aws-quicksight` and the like: a service's lazy index. */
const SERVICE_INDEX = /^aws-cdk-lib\/aws-[a-z0-9-]+$/;

type Exports = Record<string | symbol, unknown>;
type Require = (this: Module, id: string) => unknown;

interface Service {
  /** The service's lazy index, as aws-cdk-lib exports it. */
  readonly exports: Exports;
  /** Where the index was required from, and how: to find its `lib/index.js` when first needed. */
  readonly requiredFrom: string;
  readonly id: string;
  /** `lib/index.js` of the service: names the generated module of each L1 class. */
  libIndex?: string;
  /** Its text, read when first needed. */
  libIndexSource?: string;
  /** The stand-in handed out per export, made once. */
  readonly standIns: Map<string, unknown>;
  /** Generated module per export name; null when `lib/index.js` does not name one. */
  readonly definedIn: Map<string, string | null>;
}

/** The generated module `lib/index.js` names for `name` (`require("./x.generated").Name`), or null. */
function definingModule(service: Service, name: string): string | null {
  let file = service.definedIn.get(name);
  if (file === undefined) {
    // Resolved once per service, not at each of cdk-nag's ~260 requires (each resolution costs).
    const libIndex = (service.libIndex ??= path.join(
      path.dirname(Module.createRequire(service.requiredFrom).resolve(service.id)),
      'lib',
      'index.js',
    ));
    try {
      service.libIndexSource ??= readFileSync(libIndex, 'utf8');
    } catch {
      service.libIndexSource = ''; // another layout of aws-cdk-lib: every class is handed out as is
    }
    const source = service.libIndexSource;
    const match = new RegExp(`require\\("(\\./[^"]+\\.generated)"\\)\\.${name}[,;})]`).exec(source);
    file = match ? path.join(path.dirname(libIndex), `${match[1]}.js`) : null;
    service.definedIn.set(name, file);
  }
  return file;
}

/**
 * A stand-in for the class `name`: `instanceof` is false while its defining module is not loaded
 * (no instance can exist) and the real test once it is; any other use loads the real class.
 */
function standIn(service: Service, name: string, defining: string): unknown {
  const real = () => service.exports[name] as (...args: unknown[]) => unknown;
  const hasInstance = (value: unknown) =>
    require.cache[defining] !== undefined &&
    value instanceof (real() as unknown as abstract new () => unknown);
  // A function target, so that the proxy can be called and constructed like the class.
  return new Proxy(function stand() {}, {
    get: (_, key) => (key === Symbol.hasInstance ? hasInstance : Reflect.get(real(), key)),
    has: (_, key) => Reflect.has(real(), key),
    apply: (_, self, args) => Reflect.apply(real(), self, args),
    construct: (_, args) => Reflect.construct(real(), args) as object,
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}

/** cdk-nag's view of a service index: L1 classes whose module is not loaded become stand-ins. */
function serviceView(service: Service): Exports {
  return new Proxy(service.exports, {
    get(target, key) {
      if (typeof key !== 'string' || !key.startsWith('Cfn')) return Reflect.get(target, key);
      const defining = definingModule(service, key);
      if (defining === null || require.cache[defining] !== undefined) return Reflect.get(target, key);
      let stand = service.standIns.get(key);
      if (stand === undefined) service.standIns.set(key, (stand = standIn(service, key, defining)));
      return stand;
    },
  });
}

let installed = false;

/**
 * Installs the stand-ins for the modules cdk-nag's files require from now on. Call before
 * cdk-nag is first loaded (bin/app.ts does); later, or under a loader that does not go through
 * node's `Module.prototype.require` (jest), it changes nothing and cdk-nag loads the real modules.
 */
export function lazyServiceClassesForCdkNag(): void {
  if (installed) return;
  installed = true;
  let nagRoot: string;
  try {
    nagRoot = path.dirname(require.resolve('cdk-nag/package.json')) + path.sep;
  } catch {
    return; // a cdk-nag whose package.json is not exported: it loads the real modules, as before
  }
  // One view per service index: its exports object is the same for every file that requires it.
  const views = new WeakMap<object, Exports>();
  const original = Module.prototype.require as Require;
  const patched: Require = function (this: Module, id: string) {
    const exports = original.call(this, id);
    if (!SERVICE_INDEX.test(id) || !this.filename?.startsWith(nagRoot)) return exports;
    if (typeof exports !== 'object' || exports === null) return exports;
    let view = views.get(exports);
    if (view === undefined) {
      const service: Service = {
        exports: exports as Exports,
        requiredFrom: this.filename,
        id,
        standIns: new Map(),
        definedIn: new Map(),
      };
      views.set(exports, (view = serviceView(service)));
    }
    return view;
  };
  Module.prototype.require = patched as typeof Module.prototype.require;
}
