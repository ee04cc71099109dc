// HTTP/2 flow-control windows for both sides of the proxy.
//
// A window is how much a peer may send before it must wait for us to read. With the 64 KiB
// defaults, one stream crossing the proxy moves at most 64 KiB per round trip: about 400 MB/s on
// loopback and far less across a network. Larger windows let data keep flowing while the other
// side reads, but the stream window is also memory: when a reader stalls we pause the stream and
// stop reading it, yet node:http2 keeps accepting what the sender already may send, up to one
// stream window, and holds it (it returns connection-level credit at once, so the connection
// window bounds nothing). A client that never reads therefore pins one stream window per
// stream it opens: 256 KiB × the listener's 100 streams = 25 MiB per connection. 1 MiB windows
// moved ~30 % more per stream on loopback, and let such a client pin 100 MiB.

/** SETTINGS_INITIAL_WINDOW_SIZE: what one stream may have in flight (and held when stalled). */
export const STREAM_WINDOW_BYTES = 256 << 10;

/** The connection-level window: what all streams of one session may have in flight together. */
export const CONNECTION_WINDOW_BYTES = 16 << 20;
