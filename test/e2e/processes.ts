// The processes of one code-server run, found under its pid in /proc: the extension host and the
// extension's engine process, and their resident memory (for the soak benchmark and the checks
// that the engine was not restarted).
import * as fs from 'node:fs';

/** Every process below `root` (children by the PPid in /proc/<pid>/stat). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The engine process and the extension host of the code-server whose pid is given. */
export function extensionProcesses(serverPid: number): { engine?: number; host?: number } {
  const all = descendants(serverPid);
  return {
    engine: all.find((p) => /engineProcess\.js/.test(cmdline(p))),
    host: all.find((p) => /--type=extensionHost|extensionHostProcess/.test(cmdline(p))),
  };
}

/** Resident memory (VmRSS) in bytes. */
export function vmRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
