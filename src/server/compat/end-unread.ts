import type * as http from "node:http";
import * as http2 from "node:http2";

/**
 * Call before answering a request whose body is not (or not wholly) read:
 * the answer then ends the exchange instead of leaving the client uploading
 * into a request nobody reads. HTTP/2: the stream is reset with NO_ERROR once
 * the response is sent (the client stops sending; other streams go on).
 * HTTP/1.1, which cannot stop one request: the connection closes after the
 * response, and what the client still sends is discarded until then.
 */
export function endUnreadRequest(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
): void {
  if (req.readableEnded) return;
  if ("stream" in res) {
    const stream = res.stream;
    // Once the response is written (the stream's own "finish"; the compat response object emits none
    // here), and after Node has queued the last frame, so the reset does not overtake the response.
    stream.once("finish", () =>
      setImmediate(() => {
        if (!stream.closed && stream.state.remoteClose === 0) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      }),
    );
  } else {
    res.setHeader("connection", "close");
  }
  req.resume();
}
