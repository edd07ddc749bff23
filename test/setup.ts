import { dropAwsNodeVersionNotice } from '../platform/nodeWarnings';

dropAwsNodeVersionNotice();
