// The one error the items reader throws, carrying every problem; and what makes a problem safe to print: an items
// file is someone else's text, and its field names, values and paths must not reach the terminal as escapes.

/** CSI (`ESC [ ... final`), and OSC/DCS/PM/APC/SOS strings up to their terminator (BEL or `ESC \`). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ESCAPE_SEQUENCES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]/g;
/** C0 but tab and newline, DEL, C1 (which holds a one-byte CSI, U+009B). */
// eslint-disable-next-line no-control-regex -- as above
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** Text without terminal control: escape sequences removed whole, then every other control character. */
export function stripControls(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, '').replace(CONTROLS, '');
}

/** One problem, one printed line: controls stripped and a newline from the file shown as `\n`. */
export function printable(problem: string): string {
  return stripControls(problem).replace(/\n/g, '\\n');
}

export class ItemsFileError extends Error {
  name = 'ItemsFileError';
  readonly problems: string[];
  constructor(problems: string[]) {
    const safe = problems.map(printable);
    super(safe.join('\n'));
    this.problems = safe;
  }
}
