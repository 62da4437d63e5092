// The `mlops` command line: the platform's gates, runnable on a laptop and in CI. Wiring only.
import '../lib/cli/main';
