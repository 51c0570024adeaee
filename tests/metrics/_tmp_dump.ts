import { startTestServer, streamAudio } from "../server/harness.ts";
import { clipPcmBytes } from "../engine/fixtures.ts";
await using srv = await startTestServer();
await streamAudio(srv.url, clipPcmBytes("digits_pi.wav"), { rtf: 8 });
console.log(await (await fetch(`${srv.http}/metrics`)).text());
