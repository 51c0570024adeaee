// The transcript as the server sends it: each word a span carrying its time in the audio (a
// tooltip, and shown under the word when asked), settled words apart from the tentative tail,
// closed segments with their start and end, and the final of each recording.

const seconds = (s) => Number(s).toFixed(2);

/** "0.32–0.64 s": a word's or a segment's place in the audio, from the stream's start. */
export const timeRange = (start, end) => `${seconds(start)}–${seconds(end)} s`;

function wordSpan(text, time) {
  const span = document.createElement("span");
  span.className = "word";
  span.textContent = text;
  if (time && Number.isFinite(Number(time.start)) && Number.isFinite(Number(time.end))) {
    span.title = timeRange(time.start, time.end);
    span.dataset.start = String(time.start);
    span.dataset.end = String(time.end);
  }
  return span;
}

/**
 * Appends `text` as word spans and the spaces between them, characters before `split` to
 * `first` and the rest to `second` (a word straddling it is cut there: the settled part of a
 * word can be followed by a tentative ending). `words` gives the times when it lines up with
 * the text's words, as the server sends it; otherwise the words go without times.
 */
function appendWords(text, words, split, first, second) {
  const pieces = text.match(/\S+|\s+/g) ?? [];
  const count = pieces.filter((p) => /\S/.test(p)).length;
  const times = Array.isArray(words) && words.length === count ? words : [];
  let at = 0, w = 0;
  for (const piece of pieces) {
    const end = at + piece.length;
    if (/\s/.test(piece[0])) (at < split ? first : second).append(piece);
    else {
      const time = times[w++];
      if (end <= split) first.append(wordSpan(piece, time));
      else if (at >= split) second.append(wordSpan(piece, time));
      else {
        first.append(wordSpan(piece.slice(0, split - at), time));
        second.append(wordSpan(piece.slice(split - at), time));
      }
    }
    at = end;
  }
}

/** A partial: `stable` is the settled prefix of `text`; older servers send none. */
export function renderPartial(view, m) {
  const text = m.text ?? "";
  let stable = typeof m.stable === "string" ? m.stable : "";
  if (!text.startsWith(stable)) stable = "";
  // Partials of a long utterance repeat only its last words (PARTIAL_MAX_WORDS).
  view.stable.replaceChildren(m.text_offset > 0 ? "… " : "");
  view.tentative.replaceChildren();
  appendWords(text, m.words, stable.length, view.stable, view.tentative);
}

export function clearCurrent(view) {
  view.stable.replaceChildren();
  view.tentative.replaceChildren();
}

/** The final of one recording, appended to the list of finals. */
export function renderFinal(view, m) {
  const text = m.text ?? "";
  const p = document.createElement("p");
  p.className = "final";
  p.dataset.text = text;
  if (text) appendWords(text, m.words, text.length, p, p);
  else p.textContent = "(nothing recognised)";
  view.finals.append(p);
  clearCurrent(view);
}

/** A segment closed by a pause (endpointing): its place in the audio, then its words. */
export function renderSegment(view, m) {
  const li = document.createElement("li");
  li.className = "segment";
  li.dataset.index = String(m.index);
  li.dataset.start = String(m.start);
  li.dataset.end = String(m.end);
  li.dataset.text = m.text ?? "";
  const time = document.createElement("span");
  time.className = "segment-time";
  time.textContent = timeRange(m.start, m.end);
  const words = document.createElement("span");
  words.className = "segment-text";
  appendWords(m.text ?? "", m.words, Infinity, words, words);
  li.append(time, " ", words);
  view.segments.append(li);
  // Later partials start after the segment: the live line holds only what is still open.
  clearCurrent(view);
}
