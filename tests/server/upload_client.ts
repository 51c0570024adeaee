/**
 * Posts a file as multipart/form-data streamed from disk, so the test's own copies of a large
 * body stay small (the test shares its process with the in-process server). `sentAt` is when
 * the last body byte was handed over: the server cannot answer before it has the form.
 */
export async function uploadFromDisk(
  http: string,
  bytes: Uint8Array<ArrayBuffer>,
  signal?: AbortSignal,
): Promise<{ response: Response; sentAt: number }> {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, bytes);
  try {
    return await uploadFile(http, path, signal);
  } finally {
    await Deno.remove(path);
  }
}

/** Posts the file at `path` (see uploadFromDisk). */
export async function uploadFile(
  http: string,
  path: string,
  signal?: AbortSignal,
): Promise<{ response: Response; sentAt: number }> {
  const boundary = "upload-boundary-7d1f";
  const head = new TextEncoder().encode(
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="upload"\r\n` +
      `content-type: application/octet-stream\r\n\r\n`,
  );
  const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
  const file = await Deno.open(path);
  let sentAt = 0;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(head);
    },
    async pull(c) {
      const buf = new Uint8Array(256 * 1024);
      const n = await file.read(buf);
      if (n === null) {
        c.enqueue(tail);
        c.close();
        file.close();
        sentAt = performance.now();
      } else c.enqueue(buf.subarray(0, n));
    },
  });
  const response = await fetch(`${http}/v1/audio/transcriptions`, {
    method: "POST",
    body,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    signal,
  });
  return { response, sentAt };
}
