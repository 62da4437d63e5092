// Jest's node environment with an ordinary global object, so that a global lookup in test code
// (`Math`, `Array`, `Number`...) costs what it costs outside jest.
//
// jest-environment-node 30 runs every test file in `vm.createContext(new Proxy(global, tracker))`:
// node contextifies that object with property interceptors, and the Proxy adds a trap, so each
// global lookup goes through both. A seeded simulation that calls `Math.imul` twice per random
// number ran 15-22x slower in jest than in node (4M draws: 1.8 s against 0.08 s), which made the
// simulation suites (calibration, confidence alarm, rehearsal) most of `npm test`'s CPU.
// `vm.createContext(vm.constants.DONT_CONTEXTIFY)` (node >= 20.18 / 22.8) makes a context whose
// global is a plain V8 global object: same isolation, no interceptors
// (https://nodejs.org/api/vm.html#vmconstantsdont_contextify).
//
// What is lost is the Proxy's bookkeeping of globals that a test file sets, which jest deletes at
// teardown to free memory sooner; the whole context is dropped after each file either way.
const vm = require('node:vm');
const { TestEnvironment } = require('jest-environment-node');

class PlainGlobalEnvironment extends TestEnvironment {
  constructor(config, context) {
    const createContext = vm.createContext;
    let replaced = 0;
    // The parent constructor calls createContext once, with its Proxy; hand it a plain context.
    vm.createContext = () => {
      replaced++;
      return createContext(vm.constants.DONT_CONTEXTIFY);
    };
    try {
      super(config, context);
    } finally {
      vm.createContext = createContext;
    }
    // A jest upgrade that builds its context another way must not pass silently with the slow one.
    if (replaced !== 1 || vm.runInContext('globalThis', this.context) !== this.context) {
      throw new Error(
        'test/setup/node-environment.js: jest-environment-node no longer creates its context with one ' +
          'vm.createContext call; update this environment for the installed jest version.',
      );
    }
  }
}

module.exports = PlainGlobalEnvironment;
