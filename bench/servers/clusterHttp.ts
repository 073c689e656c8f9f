/** Baseline: the example's HTTP listener in node:cluster workers (see cluster.ts). `node clusterHttp.js <port> [workers]`. */
import * as http from 'node:http'
import { hello } from '../../examples/handlers'
import { clustered } from './cluster'

clustered(() => http.createServer(hello))
