/** The tests fill stores the way the fault harness does. */
export { fillSyntheticStore } from '../../bench/data/synthetic-store';
