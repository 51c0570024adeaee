/** The machine a benchmark ran on: shared with `parakeet-server bench gpu` (src/bench/). */
export { describeMachine, loadAverage, rssMb } from "../src/bench/machine.ts";
