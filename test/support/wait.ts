/** The deadline-bounded wait lives with the fault harness, which polls the same way outside tests. */
export { type WaitOptions, waitFor } from '../../bench/chaos/wait';
