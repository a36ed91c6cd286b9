/** What the compat endpoint answered: the status and the body as text. */
export interface CompatReply {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
  readonly headers: Headers;
}

/** POSTs to the compat endpoint as deployed clients do: a JSON body (or `raw` text as it is) over HTTP/1.1. */
export async function postCompat(url: string, body: unknown, { raw = false, headers = {} as Record<string, string> } = {}): Promise<CompatReply> {
  const res = await fetch(url, {
    method: "POST",
    body: raw ? (body as string) : JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: res.status, contentType: res.headers.get("content-type"), text: await res.text(), headers: res.headers };
}

/** The JSON body of a 200 reply; fails loudly with the message otherwise. */
export async function callCompat<T = Record<string, unknown>>(url: string, body: unknown): Promise<T> {
  const reply = await postCompat(url, body);
  if (reply.status !== 200) throw new Error(`compat ${JSON.stringify(body)} → ${reply.status}: ${reply.text}`);
  return JSON.parse(reply.text) as T;
}
