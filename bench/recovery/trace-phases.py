#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Splits every ramblk recovery of a trace into phases (see trace.sh).

usage: trace-phases.py PERF_SCRIPT_TEXT PS_JSON BROKER_PID

Input: `perf script -F comm,pid,tid,time,event,trace` of a `perf record -k
mono` session (times are CLOCK_MONOTONIC seconds), and `redleaf ps --json`
taken at its end (ramblk's recoveries_ns, oldest first). Only kills sent by
BROKER_PID count: the trace is system-wide, and other systems may be running.

Per crash (the broker's SIGKILL to ramblk, pid P; the new incarnation Q):
  kill -> exit          signal delivered, P starts exiting
  exit teardown         P's exit until its SIGCHLD (mm, files: heap, devmem)
  broker notices        SIGCHLD -> the broker's waitid on P's pidfd
  death handling        waitid -> fork of Q (calls failed, heap reclaimed, restart)
  child setup           fork -> execveat, excluding unshare
  unshare namespaces    CLONE_NEWNET|NEWIPC|NEWUTS in the child
  exec                  execveat -> exec done
  launcher              exec done -> first seccomp() (loader, maps, rlimits)
  seccomp               first seccomp() -> filter installed (libseccomp probes + load)
  first reply (approx)  filter installed -> the broker's 'serving again', taken as
                        waitid + recoveries_ns; the broker's clock starts when its proxy
                        thread handles the death, a little after waitid, so this reads
                        low (even below 0): the domain serves the re-issued call within
                        microseconds of its filter, which is as close as it can be told
  kill -> filter        exact, from the trace
  kill -> serving       kill -> filter + max(0, first reply)
"""
import json
import re
import statistics
import sys

LINE = re.compile(r'^\s*(.+?)\s+(\d+)/(\d+)\s+(\d+\.\d+):\s+(\S+):\s*(.*)$')


def parse(path):
    events = []
    with open(path, errors='replace') as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            comm, pid, tid, t, ev, rest = m.groups()
            events.append((float(t), ev.rstrip(':'), int(pid), int(tid), comm, rest))
    events.sort(key=lambda e: e[0])
    return events


def field(rest, key):
    m = re.search(r'(?:^|\s)' + re.escape(key) + r'=(\S+)', rest)
    return m.group(1) if m else None


def first(events, start, pred):
    for i in range(start, len(events)):
        if pred(events[i]):
            return i
    return None


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    events = parse(sys.argv[1])
    with open(sys.argv[2]) as f:
        ps = json.load(f)
    ramblk = next(d for d in ps['domains'] if d['name'] == 'ramblk')
    recoveries = ramblk.get('recoveries_ns', [])
    broker_pid = int(sys.argv[3])

    kills = [i for i, e in enumerate(events)
             if e[1] == 'signal:signal_generate' and e[2] == broker_pid and field(e[5], 'sig') == '9'
             and field(e[5], 'comm') == 'ramblk']
    phases = ['kill -> exit', 'exit teardown', 'broker notices', 'death handling', 'child setup',
              'unshare namespaces', 'exec', 'launcher', 'seccomp', 'first reply (approx)', 'kill -> filter',
              'kill -> serving']
    rows = []
    for n, k in enumerate(kills):
        t_kill, _, broker, _, _, rest = events[k]
        victim = int(field(rest, 'pid'))
        end = kills[n + 1] if n + 1 < len(kills) else len(events)
        win = events[:end]
        i_exit = first(win, k, lambda e: e[1] == 'sched:sched_process_exit' and field(e[5], 'pid') == str(victim))
        if i_exit is None:
            continue
        i_chld = first(win, i_exit, lambda e: e[1] == 'signal:signal_generate' and e[2] == victim
                       and field(e[5], 'sig') == '17')
        i_wait = first(win, i_chld or i_exit, lambda e: e[1] == 'syscalls:sys_enter_waitid' and e[2] == broker)
        i_fork = first(win, i_wait or i_exit, lambda e: e[1] == 'sched:sched_process_fork' and e[2] == broker)
        if None in (i_chld, i_wait, i_fork):
            continue
        child = int(field(events[i_fork][5], 'child_pid'))
        mine = lambda name: first(win, i_fork, lambda e: e[1] == name and e[2] == child)
        i_un0, i_un1 = mine('syscalls:sys_enter_unshare'), mine('syscalls:sys_exit_unshare')
        i_execat, i_exec = mine('syscalls:sys_enter_execveat'), mine('sched:sched_process_exec')
        i_sc0 = mine('syscalls:sys_enter_seccomp')
        sc_exits = [i for i in range(i_fork, end) if events[i][1] == 'syscalls:sys_exit_seccomp' and events[i][2] == child]
        if None in (i_execat, i_exec, i_sc0) or not sc_exits:
            continue
        t = lambda i: events[i][0]
        unshare = t(i_un1) - t(i_un0) if i_un0 is not None and i_un1 is not None else 0.0
        if n >= len(recoveries):
            continue
        t_served = t(i_wait) + recoveries[n] / 1e9
        t_sc1 = t(sc_exits[-1])
        rows.append([
            t(i_exit) - t_kill,
            t(i_chld) - t(i_exit),
            t(i_wait) - t(i_chld),
            t(i_fork) - t(i_wait),
            t(i_execat) - t(i_fork) - unshare,
            unshare,
            t(i_exec) - t(i_execat),
            t(i_sc0) - t(i_exec),
            t_sc1 - t(i_sc0),
            t_served - t_sc1,
            t_sc1 - t_kill,
            t_sc1 - t_kill + max(0.0, t_served - t_sc1),
        ])
    if not rows:
        print('trace-phases: no complete recovery found in the trace', file=sys.stderr)
        return 1
    print(f'{len(rows)} recoveries of ramblk ({len(kills)} kills traced); milliseconds')
    print(f'{"phase":<22} {"median":>8} {"p90":>8} {"min":>8} {"max":>8}')
    for p, name in enumerate(phases):
        v = sorted(r[p] * 1e3 for r in rows)
        p90 = v[min(len(v) - 1, int(0.9 * len(v) + 0.999) - 1)]
        print(f'{name:<22} {statistics.median(v):8.3f} {p90:8.3f} {v[0]:8.3f} {v[-1]:8.3f}')
    print('recoveries_ns from ps (death seen -> first reply): median %.3f ms' %
          (statistics.median(recoveries) / 1e6 if recoveries else float('nan')))
    return 0


if __name__ == '__main__':
    sys.exit(main())
