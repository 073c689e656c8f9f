/**
 * An HTTP server with zero-downtime restarts: GET / answers 200 with the pid of the process that served
 * it, so a restart is visible from the client.
 *
 *   npm run build && node dist/examples/http.js examples/http.json
 *   curl localhost:8080/ ; kill -USR1 $(cat http.pid) ; curl localhost:8080/
 */
import { serveHttp } from 'uninterruptible'
import { hello } from './handlers'

void serveHttp(process.argv[2] ?? 'examples/http.json', hello)
