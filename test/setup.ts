import { DefaultLogger, Runtime } from '@temporalio/worker';
import { dropAwsNodeVersionNotice } from '../platform/nodeWarnings';

dropAwsNodeVersionNotice();
// Workers' lifecycle lines drown test output; warnings and errors still show.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed in this process by an earlier test file.
}
