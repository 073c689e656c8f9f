/**
 * The library side of the TLS throughput measure: `serve` with the stream echo handler (everything back
 * until the client ends), the counterpart of `rawTlsEcho.js ... stream`. `node streamEcho.js CONFIG`;
 * the config sets `tls`.
 */
import { serve } from 'uninterruptible'
import { echoStream } from '../../examples/handlers'

void serve(process.argv[2] ?? 'stream.json', echoStream)
