/**
 * The seed's echo server: read one line, write it back; the library closes the connection.
 *
 *   npm run build && node dist/examples/echo.js examples/echo.json
 *   kill -USR1 $(cat echo.pid)    # zero-downtime restart
 *   kill -TERM $(cat echo.pid)    # drain and stop
 */
import { serve } from 'uninterruptible'
import { echoLine } from './handlers'

void serve(process.argv[2] ?? 'examples/echo.json', echoLine)
