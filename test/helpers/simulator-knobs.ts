// The simulator's knobs a test file returns to before each test, from one place: every knob at the simulator's own
// default except those the file names, so a knob one test sets (expireFirst, say) never leaks into the next.
import { type Knobs, type KnobsInput, KnobsSchema } from '../../src/providers/simulator/knobs';

/** Every knob: those in `base`, the rest at their defaults (pass to `setKnobs` to put all of them back). */
export const knobsFrom = (base: KnobsInput): Knobs => KnobsSchema.parse(base);
