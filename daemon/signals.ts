import { rmSync } from 'node:fs'
import type { Daemon } from './daemon.js'

/** systemd's default stop timeout is far longer; we promise operators 5 s. */
export const STOP_GRACE_MS = 4_500

/**
 * SIGINT / SIGTERM: stop libp2p, close stores, remove the socket and pid file,
 * exit 0. If stopping hangs past the grace period (or a second signal comes),
 * remove the files synchronously and exit 1 so the supervisor sees it.
 * This is one of the two places allowed to call process.exit.
 */
export function handleSignals (daemon: Daemon): void {
  let stopping = false
  const force = (why: string): void => {
    daemon.log.error({ why }, 'forced exit before a clean stop')
    rmSync(daemon.paths.apiSocket, { force: true })
    rmSync(daemon.paths.pidFile, { force: true })
    process.exit(1)
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      force(`second ${signal}`)
      return
    }
    stopping = true
    daemon.log.info({ signal }, 'stopping')
    const timer = setTimeout(() => { force(`stop took longer than ${STOP_GRACE_MS} ms`) }, STOP_GRACE_MS)
    timer.unref()
    daemon.stop().then(() => {
      process.exit(0)
    }, (err) => {
      daemon.log.error({ err }, 'error while stopping')
      process.exit(1)
    })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
