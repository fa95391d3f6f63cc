/** The free-port helper lives with the fault harness, which starts private servers outside tests too. */
export { freePort } from '../../bench/chaos/free-port';
