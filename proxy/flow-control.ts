// HTTP/2 flow-control windows for both sides of the proxy.
//
// A window is how much a peer may send before it must wait for us to read. With the 64 KiB
// defaults, one stream crossing the proxy moves at most 64 KiB per round trip: about 400 MB/s on
// loopback and far less across a network. Larger windows let data keep flowing while the other
// side reads; they are credit, not buffers, and backpressure still holds: a stream whose reader
// stalls is paused, we stop reading it, and its sender stops after one window. The connection
// window caps what all streams of one session together may have in flight, so memory stays
// bounded however many streams a session carries.

/** SETTINGS_INITIAL_WINDOW_SIZE: what one stream may have in flight. */
export const STREAM_WINDOW_BYTES = 1 << 20;

/** The connection-level window: what all streams of one session may have in flight together. */
export const CONNECTION_WINDOW_BYTES = 16 << 20;
