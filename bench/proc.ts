/**
 * Readings from /proc for the benchmark: a process's CPU time in nanoseconds (summed over its threads
 * from schedstat, far finer than the 10 ms ticks of /proc/<pid>/stat) and its resident memory.
 */
import * as fs from 'node:fs'

/** CPU time, in ns, that all threads of `pid` have run. */
export const cpuNs = (pid: number): number =>
  fs
    .readdirSync(`/proc/${pid}/task`)
    .map((tid) => {
      try {
        return Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        return 0 // a thread that ended while we read
      }
    })
    .reduce((a, b) => a + b, 0)

/** Resident memory of `pid`, in bytes. */
export const rssBytes = (pid: number): number => {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m?.[1] !== undefined ? Number(m[1]) * 1024 : NaN
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
