/**
 * Preloaded into the server by bench/whep-fanout --cpu-prof (NODE_OPTIONS=--import, as
 * Node refuses --cpu-prof there): profiles the process with the inspector from start to
 * exit and writes WHEP_CPU_PROF_DIR/server-PID.cpuprofile, as --cpu-prof would.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.WHEP_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.once('exit', () => {
    // An in-process session answers synchronously, so this completes inside 'exit'.
    session.post('Profiler.stop', (err, res) => {
      if (!err)
        writeFileSync(path.join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
