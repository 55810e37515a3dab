// Every problem of an items file as `file:line: field: message`, with the file named as the user gave it (so
// `file:line` opens in an editor, and two files of one name are told apart), in the order of the file's lines.

export class Problems {
  private readonly found: { line: number; text: string }[] = [];
  /** `item`: a manifest read as items, whose entries have places, not lines (`manifest.json item 3: ...`). */
  constructor(
    private readonly file: string,
    readonly unit: 'line' | 'item' = 'line',
  ) {}

  /** How a message names a place: `line 3`, or `item 3` in a manifest. */
  where(line: number): string {
    return `${this.unit} ${line}`;
  }

  /** A problem of the file (no line) or of one line. */
  add(line: number | undefined, message: string): void {
    const at = this.unit === 'item' ? ` item ${line}` : `:${line}`;
    const text = line === undefined ? `${this.file}: ${message}` : `${this.file}${at}: ${message}`;
    this.found.push({ line: line ?? 0, text });
  }

  field(line: number, field: string, message: string): void {
    this.add(line, `${field}: ${message}`);
  }

  get size(): number {
    return this.found.length;
  }

  /** By line (a check across items, such as colliding names, runs after the others), the file's own first. */
  get list(): string[] {
    return [...this.found].sort((a, b) => a.line - b.line).map((p) => p.text);
  }
}
