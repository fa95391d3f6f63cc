/** The free-port helper lives in services: the metrics endpoint needs it outside the harness too. */
export { freePort } from '../../services/config/free-port';
