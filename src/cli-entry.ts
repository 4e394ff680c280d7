import { main } from './main';
import { separateExecCommand } from './cli/exec';

main(separateExecCommand(process.argv.slice(2)));
