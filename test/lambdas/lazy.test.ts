import { SQSClient } from '@aws-sdk/client-sqs';
import { lazy } from '../../lambdas/shared/lazy';

describe('lazy', () => {
  it('builds the object on the first property read, once, and not before', () => {
    const create = jest.fn(() => new SQSClient({ region: 'eu-west-1' }));
    const client = lazy(create);
    expect(create).not.toHaveBeenCalled();
    expect(typeof client.send).toBe('function');
    expect(client.config).toBeDefined();
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('is the object for instanceof, `in` and methods that use `this` and private fields', async () => {
    class Counter {
      #count = 0;
      public step = 2;
      public add(): number {
        this.#count += this.step;
        return this.#count;
      }
    }
    const counter = lazy(() => new Counter());
    expect(counter).toBeInstanceOf(Counter);
    expect('add' in counter).toBe(true);
    const { add } = counter;
    expect(add()).toBe(2);
    counter.step = 5;
    expect(counter.add()).toBe(7);
    // An SDK client's middleware and config are the real client's.
    const sqs = lazy(() => new SQSClient({ region: 'eu-west-1' }));
    expect(sqs).toBeInstanceOf(SQSClient);
    await expect(sqs.config.region()).resolves.toBe('eu-west-1');
  });

  it('lets an error of the factory through at first use, and tries again on the next', () => {
    let attempts = 0;
    const flaky = lazy(() => {
      attempts++;
      if (attempts === 1) throw new Error('no region');
      return { ok: true };
    });
    expect(() => flaky.ok).toThrow('no region');
    expect(flaky.ok).toBe(true);
  });
});
