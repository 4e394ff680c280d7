import { main } from './main';
import { separateExecCommand } from './cli/exec';
import { takeCallerFdRecord } from './fds/caller-fds';

takeCallerFdRecord();
main(separateExecCommand(process.argv.slice(2)));
