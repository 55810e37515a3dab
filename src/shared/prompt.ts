// Prompt clean-up and simplification: pure and deterministic, so workflow code can call it.

/** The seeds' moderation keyword lists (RedBookContentGen's async and serial modes) plus English equivalents. */
export const SENSITIVE_WORDS = [
  '血腥',
  '暴力',
  '色情',
  '政治',
  '敏感',
  '争议',
  '战争',
  '武器',
  '裸露',
  '恐怖',
  '死亡',
  '革命',
  '暴动',
  '叛乱',
  '政变',
  '杀戮',
  '屠杀',
  '情色',
  '爆炸',
  '毒品',
  '赌博',
  '枪',
  '刀',
  'bloody',
  'blood',
  'gore',
  'gory',
  'violence',
  'violent',
  'nsfw',
  'nude',
  'naked',
  'weapons',
  'weapon',
  'guns',
  'gun',
  'knife',
  'war',
  'horror',
  'death',
  'dead',
  'killing',
  'kill',
  'drugs',
  'explosion',
];

const MIDJOURNEY_FLAGS =
  /\s--(?:ar\s+\d+\s*:\s*\d+|v(?:ersion)?\s+\d+(?:\.\d+)?|style\s+\S+|q\s+\S+|s(?:tylize)?\s+\d+|chaos\s+\d+|seed\s+\d+|niji(?:\s+\d+)?|no\s+\S+)/gi;

function tidy(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .replace(/\s+([,，.。;；:：!！?？])/g, '$1')
    .replace(/([,，;；])(\s*[,，;；])+/g, '$1')
    .replace(/^[\s,，.。;；:：]+|[\s,，;；:：]+$/g, '')
    .trim();
}

/** Removes Midjourney-style flags (`--ar 16:9`, `--v 6`, `--style raw`), which image APIs take as text. */
export function cleanPrompt(prompt: string): string {
  return tidy(` ${prompt}`.replace(MIDJOURNEY_FLAGS, ' '));
}

function stripSensitive(prompt: string): string {
  let out = prompt;
  for (const w of SENSITIVE_WORDS) {
    out = /^[a-z]+$/i.test(w) ? out.replace(new RegExp(`\\b${w}\\b`, 'gi'), ' ') : out.split(w).join(' ');
  }
  return tidy(out);
}

function shorten(prompt: string): string {
  const clauses = prompt.split(/(?<=[,，.。;；])\s*/).filter((c) => c.trim());
  if (clauses.length > 1) return tidy(clauses.slice(0, Math.ceil(clauses.length / 2)).join(' '));
  const words = prompt.split(/\s+/);
  if (words.length > 3) return tidy(words.slice(0, Math.max(3, Math.ceil(words.length / 2))).join(' '));
  // A single clause in a script without spaces (Chinese): keep the first half of the characters.
  if (words.length === 1 && /[\u3400-\u9fff]/.test(prompt) && [...prompt].length > 8) {
    return [...prompt].slice(0, Math.ceil([...prompt].length / 2)).join('');
  }
  return prompt;
}

/**
 * One simplification step after a moderation rejection: first strip the sensitive keywords and flags; if
 * there are none, keep the first half of the clauses (or words). Returns the prompt unchanged when it cannot
 * be simplified any further.
 */
export function simplifyPrompt(prompt: string): string {
  const stripped = stripSensitive(cleanPrompt(prompt));
  if (stripped && stripped !== prompt) return stripped;
  const short = shorten(prompt);
  return short || prompt;
}
