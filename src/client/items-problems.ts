// Every problem of an items file as `file:line: field: message`, with the file named as the user gave it (so
// `file:line` opens in an editor, and two files of one name are told apart), in the order of the file's lines.

export class Problems {
  private readonly found: { line: number; text: string }[] = [];
  constructor(private readonly file: string) {}

  /** A problem of the file (no line) or of one line. */
  add(line: number | undefined, message: string): void {
    const text = line === undefined ? `${this.file}: ${message}` : `${this.file}:${line}: ${message}`;
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
