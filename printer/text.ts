// Text that enters a printed document, cleaned of everything that is not a visible character. Fines come
// from files, the hub, other devices' tickets and an officer's typing: a GS ( k or GS ! inside a place
// name must print as the letters around it, never reach the printer as a command. The layout
// (./layout.ts, layoutInto) passes every string of every block through cleanText, the one place this
// is done; the font model (./fontmodel.ts) then fits what is left to the printer's font.

// C0 controls except LF (a paragraph break inside a text block, split by the layout before encoding),
// DEL and the C1 controls; bidirectional and other format controls (they reorder or hide text on screens
// and print as garbage); the private-use area; lone surrogates (with the u flag a class of surrogates
// matches only unpaired ones).
const CONTROLS =
  // eslint-disable-next-line no-control-regex -- finding control characters is what this is for
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ue000-\uf8ff\ud800-\udfff]/gu;

// Emoji and what joins or modifies them. Keycap and variation selectors go with them.
const EMOJI =
  /\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|[\u{e0020}-\u{e007f}]|\u20e3|\ufe0e|\ufe0f|\u200d/gu;

// Symbols that Unicode counts as pictographic but that text uses as plain signs: spelled out, not dropped.
const SIGNS: Record<string, string> = { '©': '(C)', '®': '(R)', '™': 'TM', '‼': '!!', '⁉': '!?' };

/**
 * The visible text of a string: tabs and other whitespace become spaces, CR LF and CR become LF, control
 * and format characters are removed, emoji are dropped (a few pictographic signs such as © are spelled
 * out). Never throws; the result contains no code point below U+0020 other than LF.
 */
export function cleanText(s: string): string {
  return s
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n')
    .replace(/[\t\v\f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g, (c) => (c === '\u3000' ? c : ' '))
    .replace(/[©®™‼⁉]\ufe0f?/gu, (c) => SIGNS[c[0]!] ?? '')
    .replace(CONTROLS, '')
    .replace(EMOJI, '');
}
