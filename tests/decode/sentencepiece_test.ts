import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Vocabulary } from "../../src/decode/vocabulary.ts";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const SCRIPT = fileURLToPath(new URL("./sentencepiece_reference.py", import.meta.url));

interface Reference {
  vocab: string[];
  kinds: Record<string, "control" | "unknown" | "byte">;
  cases: [number[], string][];
}

async function reference(): Promise<Reference> {
  const work = Deno.makeTempDirSync({ prefix: "sentencepiece-" });
  try {
    const out = await new Deno.Command(NEMO_PYTHON, {
      args: [SCRIPT, work],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

/** vocab.txt as the NeMo export writes it: `<piece> <id>` per line, `<blk>` last. */
function vocabTxt(pieces: string[]): string {
  return [...pieces, "<blk>"].map((p, i) => `${p} ${i}`).join("\n") + "\n";
}

Deno.test({
  name: "Vocabulary.decode equals sentencepiece's decoding: markers, bytes, punctuation, digits",
  ignore: !haveNemoPython("the sentencepiece decoding test"),
  fn: async () => {
    const ref = await reference();
    const vocab = Vocabulary.parse(vocabTxt(ref.vocab));
    const kinds = new Set(Object.values(ref.kinds));
    assert.ok(kinds.has("control") && kinds.has("byte"), "the model has control and byte pieces");
    assert.ok(ref.vocab.includes("<|itn|>"), "the model has a user-defined <|…|> marker");
    assert.ok(ref.cases.length > 400);
    let sawBytes = 0;
    let sawMarkers = 0;
    for (const [ids, text] of ref.cases) {
      assert.equal(vocab.decode(ids), text, `ids ${JSON.stringify(ids)}`);
      if (ids.some((id) => ref.kinds[id] === "byte")) sawBytes++;
      if (ids.some((id) => /^<\|/.test(ref.vocab[id]))) sawMarkers++;
    }
    assert.ok(sawBytes > 20 && sawMarkers > 20, `bytes ${sawBytes}, markers ${sawMarkers}`);
    // The corpus' own sentences come back whole, in Spanish, French and German styles.
    const texts = ref.cases.map(([, t]) => t);
    for (const s of ["Él dijo ¿qué? y ella respondió ¡nada!", "Bonjour ! Comment ça va ?"]) {
      assert.ok(texts.some((t) => t.startsWith(s)), s);
    }
  },
});
