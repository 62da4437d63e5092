/**
 * An object built on first use. `lazy(() => new S3Client({}))` stands in for the client: the first
 * property read (`send`, `config`, ...) builds it, and every later read goes to that one instance.
 *
 * Why: the handler bundles load each AWS SDK package when one of its exports is first touched
 * (scripts/bundle-handlers.js), so a client built at module load would load the SDK at init. Built on
 * first use, the SDK loads with the first request that needs it, and a client that a request never
 * uses (the router's SQS fallback) is never loaded. What the object does is unchanged.
 */
export function lazy<T extends object>(create: () => T): T {
  let instance: T | undefined;
  const target = (): T => (instance ??= create());
  return new Proxy({} as T, {
    get(_stub, key) {
      const object = target();
      const value: unknown = Reflect.get(object, key, object);
      // Methods run on the real instance (private fields and `this` work as on the object itself).
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
    set: (_stub, key, value) => Reflect.set(target(), key, value),
    has: (_stub, key) => Reflect.has(target(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(target()),
  });
}
