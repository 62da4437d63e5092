// Imported by bin/app.ts before anything that loads cdk-nag (imports run in order), so that
// cdk-nag's rules get the stand-ins of lib/nag/unloaded-service-classes.ts.
import { lazyServiceClassesForCdkNag } from './unloaded-service-classes';

lazyServiceClassesForCdkNag();
